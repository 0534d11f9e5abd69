import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { applyAppSet } from "../apps/app-set.js";
import { AppSchema, type App } from "../model/app.js";
import { parseAppSetPairs } from "./apps-set.js";

function refused(pairs: string[]): string {
  try {
    parseAppSetPairs(pairs);
  } catch (err) {
    if (err instanceof ValidationError) return err.message;
    throw err;
  }
  throw new Error(`accepted ${pairs.join(" ")}`);
}

const app: App = {
  name: "hello",
  createdAt: "2026-01-01T00:00:00Z",
  createdBy: "t",
  domains: [],
  formation: {},
  healthPath: "/",
  deployTimeoutMs: 30_000,
  drainMs: 0,
  currentRelease: 0,
};

describe("apps:set placement keys (issue 16)", () => {
  it("reads cpu, constraint and spread, and memory as the reservation", () => {
    const set = parseAppSetPairs([
      "cpu=0.5",
      "memory=256M",
      "constraint=role=web,disk=ssd",
      "spread=location",
    ]);
    expect(set).toEqual({
      cpu: 0.5,
      container: { memoryMb: 256 },
      constraints: ["role=web", "disk=ssd"],
      spread: "location",
    });
    const after = AppSchema.parse(applyAppSet(app, set));
    expect(after).toMatchObject({
      cpu: 0.5,
      constraints: ["role=web", "disk=ssd"],
      spread: "location",
    });
    const cleared = applyAppSet(
      after,
      parseAppSetPairs(["cpu=none", "constraint=", "spread=none"]),
    );
    expect(cleared.cpu).toBeUndefined();
    expect(cleared.constraints).toBeUndefined();
    expect(cleared.spread).toBeUndefined();
  });

  it("refuses bad values with the key and what to give", () => {
    expect(refused(["cpu=lots"])).toBe("cpu must be a number of CPUs like 0.5 or 2 (or none)");
    expect(refused(["cpu=0"])).toBe("cpu must be a number of CPUs like 0.5 or 2 (or none)");
    expect(refused(["cpu=2000"])).toBe("cpu must be at most 1024 CPUs");
    expect(refused(["constraint=role"])).toMatch(/^constraint must be label=value, like role=web/);
    expect(refused(["constraint=role=web,role=web"])).toBe("constraint lists a constraint twice");
    expect(refused(["spread=loc ation"])).toMatch(/^spread must be a node label name/);
  });
});
