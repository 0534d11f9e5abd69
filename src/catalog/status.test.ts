import { describe, expect, it } from "vitest";
import type { HealthRecord, ServiceInstance, StoredCheck } from "../model/service.js";
import { checkView, instanceView, NODE_CHECK_ID, worst } from "./status.js";

const http: StoredCheck = { type: "http", id: "http", path: "/up", interval: "1s" };
const ttl: StoredCheck = { type: "ttl", id: "beat", ttl: "30s" };
const rec = (status: HealthRecord["status"], output = ""): HealthRecord => ({
  status,
  output,
  updatedAt: "2026-01-01T00:00:00.000Z",
  since: "2026-01-01T00:00:00.000Z",
});
const inst = (checks: StoredCheck[]): ServiceInstance => ({
  service: "web",
  id: "web-1",
  node: "n1",
  address: "10.0.0.1",
  port: 80,
  tags: [],
  meta: {},
  checks,
});

describe("worst", () => {
  it("ranks critical over warning over passing; nothing is passing", () => {
    expect(worst([])).toBe("passing");
    expect(worst(["passing", "warning", "passing"])).toBe("warning");
    expect(worst(["warning", "critical", "passing"])).toBe("critical");
  });
});

describe("checkView", () => {
  it("treats a check without a result as critical, saying why", () => {
    expect(checkView(http, undefined)).toMatchObject({
      status: "critical",
      output: "no result yet",
    });
    const v = checkView(ttl, undefined);
    expect(v.status).toBe("critical");
    expect(v.output).toMatch(/TTL of 30s/);
    expect(v.updatedAt).toBeUndefined();
  });

  it("shows the stored result", () => {
    expect(checkView(http, rec("warning", "slow"))).toMatchObject({
      id: "http",
      name: "http",
      type: "http",
      status: "warning",
      output: "slow",
      updatedAt: "2026-01-01T00:00:00.000Z",
    });
  });
});

describe("instanceView", () => {
  it("is passing without checks, and adds no node check then", () => {
    const v = instanceView(inst([]), () => undefined, false);
    expect(v.status).toBe("passing");
    expect(v.checks).toEqual([]);
  });

  it("is the worst of its checks", () => {
    const results: Record<string, HealthRecord> = { http: rec("passing"), beat: rec("warning") };
    const v = instanceView(inst([http, ttl]), (id) => results[id], true);
    expect(v.status).toBe("warning");
    expect(v.checks.map((c) => c.id)).toEqual(["http", "beat", NODE_CHECK_ID]);
  });

  it("is critical when its node has no live agent, however fresh its results", () => {
    const v = instanceView(inst([http]), () => rec("passing"), false);
    expect(v.status).toBe("critical");
    expect(v.checks.find((c) => c.id === NODE_CHECK_ID)?.status).toBe("critical");
  });

  it("does not leak check definitions into the view", () => {
    const v = instanceView(inst([http]), () => rec("passing"), true);
    expect(v.status).toBe("passing");
    expect(v.checks[0]).not.toHaveProperty("path");
  });
});
