import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../../test/helpers/api.js";
import { CatalogClient } from "../../client/catalog.js";
import { ApiError } from "../../client/errors.js";
import type { InstanceView } from "../../model/service.js";

let t: TestApi;
let cat: CatalogClient;
beforeAll(async () => {
  t = await startTestApi();
  cat = new CatalogClient(t.admin);
});
afterAll(async () => {
  await t?.close();
});

const facts = { hostname: "h", cpus: 1, memory: 1024, addresses: ["127.0.0.1"] };
const reg = (over: Record<string, unknown> = {}) => ({
  service: "web",
  id: "web-1",
  node: "n1",
  address: "127.0.0.1",
  port: 8080,
  ...over,
});
const revision = async (): Promise<number> => (await t.store.status()).revision;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The ApiError a call fails with. */
async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

async function instance(service: string, id: string): Promise<InstanceView | undefined> {
  return (await cat.service(service)).value.find((i) => i.id === id);
}

describe("catalog registration", () => {
  it("registers an instance, lists it, and records it in the audit log", async () => {
    const res = await cat.register(reg({ service: "plain", tags: ["v1"], meta: { team: "a" } }));
    expect(res.instance).toMatchObject({ service: "plain", id: "web-1", tags: ["v1"], checks: [] });
    const { value, index } = await cat.service("plain");
    expect(index).toBeGreaterThanOrEqual(res.revision);
    expect(value).toEqual([
      expect.objectContaining({ id: "web-1", status: "passing", checks: [], meta: { team: "a" } }),
    ]);
    const services = (await cat.services()).value;
    expect(services).toContainEqual({ name: "plain", tags: ["v1"], instances: 1, passing: 1 });
    const audit = await t.admin.audit(10);
    expect(audit.some((e) => e.action === "service.register" && e.target === "plain/web-1")).toBe(
      true,
    );
  });

  it("answers bad registrations with 400 naming the field and writes nothing", async () => {
    const before = await revision();
    const cases: [unknown, string][] = [
      [reg({ port: "80" }), "port"],
      [reg({ extra: 1 }), "extra"],
      [reg({ checks: [{ type: "exec", command: "rm -rf /" }] }), "checks.0.command"],
      [reg({ checks: [{ type: "http", path: "/", interval: "fast" }] }), "checks.0.interval"],
      [reg({ service: "Bad Name" }), "service"],
    ];
    for (const [body, field] of cases) {
      const res = await fetch(`${t.url}/v1/catalog/register`, {
        method: "PUT",
        headers: { authorization: `Bearer ${t.adminToken}` },
        body: JSON.stringify(body),
      });
      expect(res.status, field).toBe(400);
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe(field);
    }
    const notJson = await fetch(`${t.url}/v1/catalog/register`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.adminToken}` },
      body: "{",
    });
    expect(notJson.status).toBe(400);
    expect(await revision()).toBe(before);
  });

  it("enforces service policies, and node write for exec checks", async () => {
    const web = new CatalogClient(
      await t.clientWith([{ resource: "service", prefix: "web", access: "write" }]),
    );
    await web.register(reg({ id: "p-1" }));
    expect((await refusal(web.register(reg({ service: "db" })))).status).toBe(403);
    const exec = reg({ id: "p-2", checks: [{ type: "exec", command: ["/bin/true"] }] });
    const err = await refusal(web.register(exec));
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/node:n1:write/);
    expect(await instance("web", "p-2")).toBeUndefined();
    const reader = new CatalogClient(
      await t.clientWith([{ resource: "service", prefix: "db", access: "read" }]),
    );
    expect((await refusal(reader.service("web"))).status).toBe(403);
    expect((await reader.services()).value.map((s) => s.name)).not.toContain("web");
  });

  it("deregisters an instance with its health results; a second time is 404", async () => {
    await cat.joinNode("n1", facts, 30);
    await cat.register(reg({ id: "gone", checks: [{ type: "tcp", interval: "1s" }] }));
    await cat.reportHealth("web", "gone", "tcp", { status: "passing", output: "" });
    expect((await t.store.range({ prefix: "health/web/gone/" })).count).toBe(1);
    await cat.deregister("web", "gone");
    expect(await instance("web", "gone")).toBeUndefined();
    expect((await t.store.range({ prefix: "health/web/gone/" })).count).toBe(0);
    expect((await refusal(cat.deregister("web", "gone"))).status).toBe(404);
  });

  it("drops the results of checks a re-registration removes or retypes", async () => {
    await cat.register(
      reg({
        id: "re",
        checks: [
          { type: "tcp", id: "a" },
          { type: "tcp", id: "b" },
          { type: "tcp", id: "c" },
        ],
      }),
    );
    for (const id of ["a", "b", "c"])
      await cat.reportHealth("web", "re", id, { status: "passing", output: "" });
    await cat.register(
      reg({
        id: "re",
        checks: [
          { type: "tcp", id: "a" },
          { type: "ttl", id: "c", ttl: "10s" },
        ],
      }),
    );
    const keys = (await t.store.range({ prefix: "health/web/re/" })).kvs.map((kv) => kv.key);
    expect(keys).toEqual(["health/web/re/a"]);
  });
  it("keeps a TTL result over an identical re-registration, and drops it when the TTL changes", async () => {
    const ttl = (d: string) => reg({ id: "rt", checks: [{ type: "ttl", id: "beat", ttl: d }] });
    await cat.register(ttl("30s"));
    await cat.updateTtl("web", "rt", "beat", "pass");
    await cat.register(ttl("30s"));
    expect((await t.store.get("health/web/rt/beat"))?.lease).not.toBe("0");
    await cat.register(ttl("60s"));
    expect(await t.store.get("health/web/rt/beat")).toBeUndefined();
  });
});

describe("health", () => {
  it("aggregates results, filters ?passing, and writes only changes", async () => {
    await cat.joinNode("n1", facts, 30);
    await cat.register(
      reg({
        id: "h-1",
        checks: [
          { type: "tcp", id: "port" },
          { type: "http", id: "up", path: "/up" },
        ],
      }),
    );
    let v = await instance("web", "h-1");
    expect(v?.status).toBe("critical"); // no results yet
    expect(v?.checks.map((c) => c.id)).toEqual(["port", "up", "_node"]);

    await cat.reportHealth("web", "h-1", "port", { status: "passing", output: "ok" });
    const first = await cat.reportHealth("web", "h-1", "up", { status: "passing", output: "200" });
    expect(first.changed).toBe(true);
    v = await instance("web", "h-1");
    expect(v?.status).toBe("passing");
    expect((await cat.service("web", { passing: true })).value.map((i) => i.id)).toContain("h-1");

    const before = await revision();
    const again = await cat.reportHealth("web", "h-1", "up", { status: "passing", output: "200" });
    expect(again.changed).toBe(false);
    expect(await revision()).toBe(before);

    const warn = await cat.reportHealth("web", "h-1", "up", { status: "warning", output: "429" });
    expect(warn.record.since).not.toBe(first.record.since);
    expect((await instance("web", "h-1"))?.status).toBe("warning");
    expect((await cat.service("web", { passing: true })).value.map((i) => i.id)).not.toContain(
      "h-1",
    );
    const audit = await t.admin.audit(20);
    expect(audit.some((e) => e.action === "check.warning" && e.target === "web/h-1/up")).toBe(true);
  });

  it("refuses results for unknown instances and checks, and bad statuses", async () => {
    expect(
      (await refusal(cat.reportHealth("web", "nope", "x", { status: "passing", output: "" })))
        .status,
    ).toBe(404);
    await cat.register(reg({ id: "h-2", checks: [{ type: "tcp" }] }));
    expect(
      (await refusal(cat.reportHealth("web", "h-2", "nope", { status: "passing", output: "" })))
        .status,
    ).toBe(404);
    const bad = await refusal(
      cat.reportHealth("web", "h-2", "tcp", { status: "fine" as "passing", output: "" }),
    );
    expect(bad).toMatchObject({ status: 400, field: "status" });
  });

  it("writes with cas 0 only when there is no result", async () => {
    await cat.register(reg({ id: "h-3", checks: [{ type: "tcp" }] }));
    await cat.reportHealth("web", "h-3", "tcp", { status: "critical", output: "x" }, { cas: 0 });
    const second = await refusal(
      cat.reportHealth("web", "h-3", "tcp", { status: "passing", output: "" }, { cas: 0 }),
    );
    expect(second.status).toBe(409);
  });

  it("counts an instance on a node without a live agent as critical", async () => {
    const join = await cat.joinNode("lonely", facts, 30);
    await cat.register(reg({ id: "h-4", node: "lonely", checks: [{ type: "tcp" }] }));
    await cat.reportHealth("web", "h-4", "tcp", { status: "passing", output: "" });
    expect((await instance("web", "h-4"))?.status).toBe("passing");
    await cat.leaveNode("lonely", join.lease);
    const v = await instance("web", "h-4");
    expect(v?.status).toBe("critical");
    expect(v?.checks.find((c) => c.id === "_node")?.output).toMatch(/no live agent/);
  });
});

describe("ttl checks", () => {
  it("pass while refreshed, and turn critical when the TTL runs out", async () => {
    await cat.joinNode("n1", facts, 30);
    await cat.register(reg({ id: "t-1", checks: [{ type: "ttl", ttl: "1s" }] }));
    expect((await instance("web", "t-1"))?.status).toBe("critical");
    const res = await cat.updateTtl("web", "t-1", "ttl", "pass", "alive");
    expect(res.record).toMatchObject({ status: "passing", output: "alive" });
    const kv = await t.store.get("health/web/t-1/ttl");
    expect(kv?.lease).not.toBe("0");
    // Refreshing with the same result keeps the lease alive without writing.
    for (let i = 0; i < 4; i++) {
      await sleep(400);
      const again = await cat.updateTtl("web", "t-1", "ttl", "pass", "alive");
      expect(again.changed).toBe(false);
      expect((await instance("web", "t-1"))?.status).toBe("passing");
    }
    await sleep(2500);
    const v = await instance("web", "t-1");
    expect(v?.status).toBe("critical");
    expect(v?.checks[0]?.output).toMatch(/not reported within its TTL/);
  });

  it("warn and fail set the status; other check types and actions are refused", async () => {
    await cat.register(reg({ id: "t-2", checks: [{ type: "ttl", ttl: "30s" }, { type: "tcp" }] }));
    await cat.updateTtl("web", "t-2", "ttl", "warn");
    expect((await instance("web", "t-2"))?.checks[0]?.status).toBe("warning");
    await cat.updateTtl("web", "t-2", "ttl", "fail", "broken");
    expect((await instance("web", "t-2"))?.checks[0]).toMatchObject({
      status: "critical",
      output: "broken",
    });
    expect(await refusal(cat.updateTtl("web", "t-2", "tcp", "pass"))).toMatchObject({
      status: 400,
      field: "checkId",
    });
    const res = await fetch(`${t.url}/v1/checks/web/t-2/ttl/explode`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    expect(res.status).toBe(400);
  });
});

describe("blocking reads", () => {
  it("wait for a change of the service's instances or health, then answer with a newer index", async () => {
    await cat.joinNode("n1", facts, 30);
    await cat.register(reg({ service: "blk", id: "b-1", checks: [{ type: "tcp" }] }));
    const { index } = await cat.service("blk");
    const started = Date.now();
    const waiting = cat.service("blk", { index, wait: "10s" });
    await sleep(300);
    await cat.reportHealth("blk", "b-1", "tcp", { status: "passing", output: "" });
    const woke = await waiting;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(woke.index).toBeGreaterThan(index);
    expect(woke.value[0]?.status).toBe("passing");
  });

  it("do not wake for changes elsewhere, and end after wait", async () => {
    await cat.register(reg({ service: "quiet", id: "q-1" }));
    const { index } = await cat.service("quiet");
    const started = Date.now();
    const waiting = cat.service("quiet", { index, wait: "600ms" });
    await t.admin.kvPut("unrelated", "x");
    await cat.register(reg({ service: "other", id: "o-1" }));
    const res = await waiting;
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(res.value.map((i) => i.id)).toEqual(["q-1"]);
  });

  it("refuse wait without index", async () => {
    const res = await fetch(`${t.url}/v1/catalog/services?wait=1s`, {
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    expect(res.status).toBe(400);
  });
});

describe("nodes", () => {
  it("join, heartbeat on their lease, list, and leave", async () => {
    const join = await cat.joinNode("n9", { ...facts, os: "linux" }, 10);
    expect(join).toMatchObject({ name: "n9", ttl: 10 });
    expect(await cat.heartbeat("n9", join.lease)).toBe(true);
    expect(await cat.heartbeat("n9", "12345")).toBe(false);
    const nodes = await cat.nodes();
    expect(nodes.find((n) => n.name === "n9")).toMatchObject({ facts: { os: "linux" }, ttl: 10 });
    await cat.leaveNode("n9", join.lease);
    expect((await cat.nodes()).some((n) => n.name === "n9")).toBe(false);
    expect(await cat.heartbeat("n9", join.lease)).toBe(false);
  });

  it("need node write, and refuse bad facts and names", async () => {
    const other = new CatalogClient(
      await t.clientWith([{ resource: "node", prefix: "a-", access: "write" }]),
    );
    expect((await refusal(other.joinNode("b-1", facts))).status).toBe(403);
    await other.joinNode("a-1", facts);
    const bad = await refusal(cat.joinNode("n1", { ...facts, cpus: -1 }));
    expect(bad).toMatchObject({ status: 400, field: "facts.cpus" });
    expect((await refusal(cat.joinNode("bad/name", facts))).status).toBe(400);
  });
});
