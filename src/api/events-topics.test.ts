import { describe, expect, it } from "vitest";
import type { Policy } from "../model/token.js";
import {
  TOPICS,
  changeOf,
  coalesce,
  instanceApp,
  mayReadTopic,
  topicPrefixes,
  watchRange,
  type Topic,
} from "./events-topics.js";

const ADMIN: Policy[] = [{ admin: true }];
const ALL = new Set<Topic>(TOPICS);
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const put = (key: string, value?: Uint8Array, p: Policy[] = ADMIN, topics = ALL) =>
  changeOf(key, "put", value, topics, p);

describe("instanceApp", () => {
  it("finds the app in ids made by assignmentId, dashes and all", () => {
    expect(instanceApp("web-v3-web-1-ab12")).toBe("web");
    expect(instanceApp("api-v2-staging-v15-worker-2-0f0f")).toBe("api-v2-staging");
    expect(instanceApp("shop-v1-cron-1-aaaa")).toBe("shop");
    expect(instanceApp("a-v0-test-1-beef")).toBe("a");
    expect(instanceApp("x-v3-background-job-4-0a0b")).toBe("x");
    expect(instanceApp("not-an-instance")).toBeUndefined();
  });
});

describe("changeOf", () => {
  it("maps every kind of key to its topic and name", () => {
    const cases: [string, Topic, string][] = [
      ["apps/web", "apps", "web"],
      ["releases/web/00000003", "apps", "web"],
      ["deploys/web", "apps", "web"],
      ["scales/web", "apps", "web"],
      ["builds/web/b1", "apps", "web"],
      ["config/web", "apps", "web"],
      ["config-test/web", "apps", "web"],
      ["connect/apps/web", "apps", "web"],
      ["instances/web-v3-web-1-ab12", "instances", "web"],
      ["assignments/node-1/web-v3-web-1-ab12", "instances", "web"],
      ["nodes/n1", "nodes", "n1"],
      ["sys/drains/n1", "nodes", "n1"],
      ["sys/node-labels/n1", "nodes", "n1"],
      ["catalog/web/i1", "services", "web"],
      ["health/web/i1/c1", "services", "web"],
      ["kv/a/b/c", "kv", "a/b/c"],
      ["converge/states", "converge", "states"],
      ["converge/nodes/n1", "converge", "n1"],
      ["converge/runs/n1", "converge", "n1"],
      ["stack/info", "stack", "info"],
      ["stack/items/app/web", "stack", "items/app/web"],
      ["pools/specs/p1", "pools", "p1"],
      ["pools/status/p1", "pools", "p1"],
      ["pools/nodes/p1/n7", "pools", "p1"],
      ["pipelines/shop", "pipelines", "shop"],
      ["sys/audit/2026-01-01T00:00:00Z-s1-1", "audit", ""],
      ["sys/tokens/t1", "tokens", "t1"],
      ["sys/servers/s1", "servers", "s1"],
      ["certs/web", "certs", "web"],
    ];
    for (const [key, topic, name] of cases) {
      expect(put(key), key).toEqual({ topic, name, type: "put" });
      expect(
        topicPrefixes(topic).some((p) => key.startsWith(p)),
        key,
      ).toBe(true);
    }
  });

  it("ignores keys of no topic, and topics not asked for", () => {
    for (const key of ["sessions/x", "sys/session-leases/1", "notify/outbox/1", "cron/jobs/a/b"])
      expect(put(key), key).toBeUndefined();
    expect(put("apps/web", undefined, ADMIN, new Set<Topic>(["nodes"]))).toBeUndefined();
    expect(put("assignments/node-without-id")).toBeUndefined();
  });

  it("takes an instance's app from its record when there is one", () => {
    // An id that parses ambiguously: the record says which app it is.
    const id = "a-v1-x-v2-y-1-ab12";
    expect(put(`instances/${id}`, enc({ id, app: "a" }))?.name).toBe("a");
    expect(changeOf(`instances/${id}`, "delete", undefined, ALL, ADMIN)?.name).toBe("a-v1-x");
  });

  it("filters by the token's policies, per name", () => {
    const webOnly: Policy[] = [{ resource: "app", prefix: "web-", access: "read" }];
    expect(put("apps/web-a", undefined, webOnly)?.name).toBe("web-a");
    expect(put("apps/api", undefined, webOnly)).toBeUndefined();
    expect(put("instances/web-a-v1-web-1-ab12", undefined, webOnly)?.name).toBe("web-a");
    expect(put("instances/api-v1-web-1-ab12", undefined, webOnly)).toBeUndefined();
    expect(put("nodes/n1", undefined, webOnly)).toBeUndefined();
    expect(put("sys/tokens/t1", undefined, webOnly)).toBeUndefined();
    const kv: Policy[] = [{ resource: "kv", prefix: "team/", access: "write" }];
    expect(put("kv/team/x", undefined, kv)?.name).toBe("team/x");
    expect(put("kv/other", undefined, kv)).toBeUndefined();
  });

  it("shows a pipeline to who reads one of its stages", () => {
    const p: Policy[] = [{ resource: "app", prefix: "shop-prod", access: "read" }];
    const value = enc({ stages: [{ app: "shop-staging" }, { app: "shop-prod" }] });
    expect(put("pipelines/shop", value, p)?.name).toBe("shop");
    expect(put("pipelines/shop", enc({ stages: [{ app: "x" }, { app: "y" }] }), p)).toBeUndefined();
    expect(changeOf("pipelines/shop", "delete", undefined, ALL, p)?.type).toBe("delete");
  });
});

describe("mayReadTopic", () => {
  it("allows a topic when some policy reads its resource; admin topics need admin", () => {
    const webOnly: Policy[] = [{ resource: "app", prefix: "web-", access: "read" }];
    expect(mayReadTopic(webOnly, "apps")).toBe(true);
    expect(mayReadTopic(webOnly, "instances")).toBe(true);
    expect(mayReadTopic(webOnly, "nodes")).toBe(false);
    expect(mayReadTopic(webOnly, "audit")).toBe(false);
    for (const t of TOPICS) expect(mayReadTopic(ADMIN, t), t).toBe(true);
  });
});

describe("coalesce", () => {
  it("keeps one entry per topic, name and type, in first-seen order", () => {
    const many = Array.from({ length: 500 }, (_, i) => ({
      topic: "instances" as const,
      name: "web",
      type: i % 2 === 0 ? ("put" as const) : ("delete" as const),
    }));
    expect(coalesce([{ topic: "apps", name: "web", type: "put" }, ...many])).toEqual([
      { topic: "apps", name: "web", type: "put" },
      { topic: "instances", name: "web", type: "put" },
      { topic: "instances", name: "web", type: "delete" },
    ]);
  });
});

describe("watchRange", () => {
  it("is the topic's prefix for one prefix, else one range over all of them", () => {
    expect(watchRange(["kv"])).toEqual({ prefix: "kv/" });
    expect(watchRange(["nodes"])).toEqual({ key: "nodes/", end: "sys/node-labels0" });
    const r = watchRange(TOPICS) as { key: string; end: string };
    for (const t of TOPICS)
      for (const p of topicPrefixes(t)) {
        expect(p >= r.key, p).toBe(true);
        expect(`${p}\uffff` < r.end, p).toBe(true);
      }
  });
});
