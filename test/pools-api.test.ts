/** The node pool routes and the address plan, through the real client against a real server. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PoolsClient } from "../src/client/pools.js";
import { K } from "../src/model/keys.js";
import type { PoolSpec, PoolStatus } from "../src/model/pool.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";

const PLAN = {
  pattern: "10.{location}.{type}.{instance}",
  locations: { "nz-por-1": 100 },
  types: { web: 6, db: 8 },
};

/** A spec as the stack sends it (defaults filled in by the server). */
const spec = (over: Record<string, unknown> = {}): PoolSpec =>
  ({ provider: "local", size: 3, location: "nz-por-1", type: "web", ...over }) as PoolSpec;

let t: TestApi;
let pools: PoolsClient;

beforeAll(async () => {
  t = await startTestApi();
  pools = new PoolsClient(t.admin);
});
afterAll(async () => t?.close());

/** Write what the controller would report of a pool. */
async function writeStatus(pool: string, nodes: string[]): Promise<void> {
  const status: PoolStatus = {
    name: pool,
    desired: nodes.length,
    ready: nodes.length,
    joining: 0,
    repairing: 0,
    unhealthy: 0,
    nodes: nodes.map((name, i) => ({
      name,
      instance: i + 1,
      address: `10.100.6.${i + 1}`,
      phase: "ready",
    })),
    updatedAt: new Date().toISOString(),
  };
  await t.store.put(K.poolStatus + pool, JSON.stringify(status));
}

describe("pools before an address plan", () => {
  it("refuses a pool, saying to declare addressPlan", async () => {
    const err = await errorOf(pools.put("early", spec()));
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/declare addressPlan in gantry\.yaml/);
    expect(await pools.get("early")).toBeUndefined();
  });

  it("refuses a bad plan, naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ ...PLAN, types: { web: 300 } }, "addressPlan.types.web"],
      [{ ...PLAN, pattern: "10.{type}.{instance}" }, "addressPlan.pattern"],
      [{ ...PLAN, colour: "blue" }, "addressPlan.colour"],
    ];
    for (const [body, field] of cases) {
      const err = await errorOf(t.admin.json("PUT", "/v1/address-plan", { body }));
      expect([err.status, err.field]).toEqual([400, field]);
    }
    expect(await pools.addressPlan()).toBeUndefined();
  });
});

describe("pools on an address plan", () => {
  beforeAll(async () => {
    await pools.setAddressPlan(PLAN);
  });

  it("stores the pool with its address pattern and a settings hash", async () => {
    const view = await pools.put("web", spec({ max: 5 }));
    expect(view.addressPattern).toBe("10.100.6.{instance}");
    expect(view.settingsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(view.spec.repairAfter).toBe("60s");
    const got = await pools.get("web");
    expect(got?.modRevision).toBeGreaterThan(0);
    expect(got?.updatedBy).toMatch(/^admin-/);
    expect((await pools.list()).map((p) => p.name)).toEqual(["web"]);
  });

  it("refuses bad specs, naming the field in gantry.yaml", async () => {
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      ["db", { size: -1 }, "pools.db.size", /size/],
      ["db", { provider: "cloud" }, "pools.db.provider", /provider/],
      ["db", { sizee: 2 }, "pools.db.sizee", /unknown field "sizee"/],
      ["db", { type: "cache" }, "pools.db.type", /unknown type "cache".*web, db/],
      ["db", { location: "au-syd-1" }, "pools.db.location", /unknown location/],
      ["db", { size: 6, max: 5 }, "pools.db.size", /6 is above max 5/],
      ["db", { size: 1, min: 2 }, "pools.db.size", /1 is below min 2/],
      ["db", { repairAfter: "soon" }, "pools.db.repairAfter", /duration/],
      ["db", { type: "web" }, "pools.db.type", /pool web already has this location and type/],
      ["db", { type: "db", size: 3, max: 255 }, "pools.db.max", /254/],
      ["db", { type: "db", provider: "ssh" }, "pools.db.ssh", /needs the hosts/],
      ["db", { type: "db", provider: "exec" }, "pools.db.exec", /needs its commands/],
      ["db", { type: "db", docker: {} }, "pools.db.docker", /on a local pool/],
      [
        "db",
        { type: "db", size: 2, provider: "ssh", ssh: { hosts: ["h1"] } },
        "pools.db.size",
        /2 nodes need 2 hosts/,
      ],
    ];
    for (const [name, over, field, message] of cases) {
      const err = await errorOf(pools.put(name, spec(over)));
      expect([name, over, err.status, err.field]).toEqual([name, over, 400, field]);
      expect(err.message).toMatch(message);
    }
    const badName = await errorOf(pools.put("Web_1", spec()));
    expect([badName.status, badName.field]).toEqual([400, "name"]);
    expect(await pools.get("db")).toBeUndefined();
  });

  it("hashes what a node is made from, not its size, roles or repair settings", async () => {
    const before = (await pools.get("web"))!.settingsHash;
    const resized = await pools.put("web", spec({ size: 4, max: 5, roles: ["web"] }));
    expect(resized.settingsHash).toBe(before);
    const rebuilt = await pools.put("web", spec({ size: 4, max: 5, provider: "docker" }));
    expect(rebuilt.settingsHash).not.toBe(before);
    await pools.put("web", spec({ max: 5 }));
    expect((await pools.get("web"))!.settingsHash).toBe(before);
  });

  it("scales within min and max, naming the bound to change", async () => {
    const over = await errorOf(pools.scale("web", 6));
    expect([over.status, over.field]).toEqual([400, "size"]);
    expect(over.message).toBe("pools.web.max is 5: raise it in gantry.yaml to scale web to 6");
    const under = await errorOf(pools.scale("web", 2));
    expect(under.message).toMatch(
      /pools\.web\.min is not set, so web scales down only to its size 3/,
    );
    expect((await pools.scale("web", 5)).scaledTo).toBe(5);
    // The stack writing the same size keeps the hand-made scale; a new size clears it.
    expect((await pools.put("web", spec({ max: 5 }))).scaledTo).toBe(5);
    expect((await pools.put("web", spec({ size: 4, max: 5 }))).scaledTo).toBeUndefined();
    await pools.put("web", spec({ max: 5 }));
    expect((await errorOf(pools.scale("nope", 1))).status).toBe(404);
  });

  it("replaces one node of the pool or all of them, and 404s a node it does not have", async () => {
    const none = await errorOf(pools.replace("web"));
    expect(none.status).toBe(409);
    await writeStatus("web", ["web-1", "web-2"]);
    await t.store.put(`${K.poolNodes}web/web-3`, "{}");
    const unknown = await errorOf(pools.replace("web", "web-9"));
    expect(unknown.status).toBe(404);
    expect(unknown.message).toMatch(/node "web-9" of pool "web".*web-1, web-2, web-3/);
    expect((await pools.replace("web", "web-3")).replace?.nodes).toEqual(["web-3"]);
    // web-3 made again since: done, so the next request does not name it again.
    const later = new Date(Date.now() + 60_000).toISOString();
    await t.store.put(`${K.poolNodes}web/web-3`, JSON.stringify({ createdAt: later }));
    expect((await pools.replace("web", "web-1")).replace?.nodes).toEqual(["web-1"]);
    const all = await pools.replace("web");
    expect(all.replace?.nodes).toEqual(["web-1", "web-2", "web-3"]);
    expect(all.status?.ready).toBe(2);
    // Writing the pool again keeps the replacement asked for.
    expect((await pools.put("web", spec({ max: 5 }))).replace?.nodes).toHaveLength(3);
  });

  it("loses no update when many people scale and replace at once", async () => {
    const nodes = Array.from({ length: 8 }, (_, i) => `web-${i + 1}`);
    await writeStatus("web", nodes);
    await t.store.delete({ prefix: `${K.poolNodes}web/` });
    await Promise.all([
      ...nodes.map((n) => pools.replace("web", n)),
      pools.scale("web", 4),
      pools.put("web", spec({ max: 5 })),
    ]);
    const got = (await pools.get("web"))!;
    expect([...got.replace!.nodes].sort()).toEqual([...nodes].sort());
    expect(got.scaledTo).toBe(4);
  });

  it("moves every pool when the plan changes, and refuses a plan a pool no longer fits", async () => {
    const before = (await pools.get("web"))!;
    const res = await t.admin.json<{ modRevision: number; replanned: string[] }>(
      "PUT",
      "/v1/address-plan",
      { body: { ...PLAN, types: { web: 7, db: 8 } } },
    );
    expect(res.replanned).toEqual(["web"]);
    const after = (await pools.get("web"))!;
    expect(after.addressPattern).toBe("10.100.7.{instance}");
    expect(after.settingsHash).not.toBe(before.settingsHash);
    expect(after.scaledTo).toBe(before.scaledTo);

    const err = await errorOf(pools.setAddressPlan({ ...PLAN, types: { db: 8 } }));
    expect([err.status, err.field]).toEqual([400, "pools.web.type"]);
    const plan = await pools.addressPlan();
    expect(plan?.types).toEqual({ web: 7, db: 8 });
    expect((await pools.get("web"))!.addressPattern).toBe("10.100.7.{instance}");
  });

  it("deletes by marking; a PUT takes the pool back; the plan stays while pools exist", async () => {
    expect((await errorOf(pools.delete("nope"))).status).toBe(404);
    await pools.delete("web");
    const deleted = (await pools.get("web"))!;
    expect(deleted.deletedAt).toBeDefined();
    expect((await errorOf(pools.scale("web", 3))).status).toBe(409);
    const inUse = await errorOf(pools.deleteAddressPlan());
    expect(inUse.status).toBe(409);
    expect(inUse.message).toMatch(/in use by pool web/);
    expect((await pools.put("web", spec({ max: 5 }))).deletedAt).toBeUndefined();
  });

  it("answers 403 to a token without pool access, and read-only to pool:web:read", async () => {
    const kvOnly = new PoolsClient(
      await t.clientWith([{ resource: "kv", prefix: "", access: "write" }]),
    );
    expect((await errorOf(kvOnly.get("web"))).status).toBe(403);
    expect((await errorOf(kvOnly.put("web", spec()))).status).toBe(403);
    expect((await errorOf(kvOnly.addressPlan())).status).toBe(403);
    expect(await kvOnly.list()).toEqual([]);
    const reader = new PoolsClient(
      await t.clientWith([{ resource: "pool", prefix: "web", access: "read", exact: true }]),
    );
    expect((await reader.get("web"))?.name).toBe("web");
    expect((await errorOf(reader.scale("web", 3))).status).toBe(403);
    expect((await errorOf(reader.replace("web"))).status).toBe(403);
    // The plan concerns every pool: pool:web:read is not enough to read it.
    expect((await errorOf(reader.addressPlan())).status).toBe(403);
  });
});
