/** `gantry pools`, `pools:info`, `pools:scale`, `pools:replace` and the pool columns of `gantry nodes`, in-process. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { showPools } from "../src/cli/pools.js";
import { PoolsClient } from "../src/client/pools.js";
import { K } from "../src/model/keys.js";
import type { PoolSpec, PoolStatus, PoolView } from "../src/model/pool.js";
import type { Output } from "../src/output/output.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { gantry } from "./helpers/cli-in-process.js";

let t: TestApi;
let pools: PoolsClient;

const STATUS: PoolStatus = {
  name: "web",
  desired: 3,
  ready: 1,
  joining: 1,
  repairing: 0,
  unhealthy: 1,
  nodes: [
    { name: "web-1", instance: 1, address: "10.100.6.1", phase: "ready" },
    { name: "web-2", instance: 2, address: "10.100.6.2", phase: "joining" },
    {
      name: "web-3",
      instance: 3,
      address: "10.100.6.3",
      phase: "unhealthy",
      reason: "down since 12:00:01 (repairAfter 60s)",
    },
  ],
  halted: "2 of 3 nodes unhealthy, above maxUnhealthy 40%: not repairing",
  lastEvent: { at: new Date().toISOString(), message: "created web-2 (10.100.6.2)" },
  updatedAt: new Date().toISOString(),
};

const FACTS = { hostname: "h", cpus: 2, memory: 2 ** 30, addresses: ["127.100.6.1"] };

beforeAll(async () => {
  t = await startTestApi();
  process.env["GANTRY_ADDR"] = t.url;
  process.env["GANTRY_TOKEN"] = t.adminToken;
  pools = new PoolsClient(t.admin);
  await pools.setAddressPlan({
    pattern: "10.{location}.{type}.{instance}",
    locations: { "nz-por-1": 100 },
    types: { web: 6, db: 8 },
  });
  const spec = { provider: "local", location: "nz-por-1" } as const;
  await pools.put("web", { ...spec, type: "web", size: 3, max: 5 } as PoolSpec);
  await pools.put("db", { ...spec, type: "db", size: 2 } as PoolSpec);
  await t.store.put(K.poolStatus + "web", JSON.stringify(STATUS));
  // web-1 joined with the labels the pool controller gives its join token; web-3 is down.
  for (const n of ["web-1", "web-3"]) {
    const address = `10.100.6.${n.slice(-1)}`;
    await t.store.put(K.nodeLabels + n, JSON.stringify({ pool: "web", address }));
  }
  await t.admin.json("PUT", "/v1/nodes/web-1", { body: { facts: FACTS } });
  await t.admin.json("PUT", "/v1/nodes/plain", { body: { facts: FACTS } });
  await t.store.put(`${K.assignments}web-3/hello-web-1`, "{}");
});
afterAll(async () => {
  delete process.env["GANTRY_ADDR"];
  delete process.env["GANTRY_TOKEN"];
  await t?.close();
});

const row = (out: string, first: string): string[] =>
  out
    .split("\n")
    .find((l) => l.startsWith(`${first} `))!
    .split(/\s{2,}/);

describe("gantry pools", () => {
  it("shows each pool's counts, and the halt in the last column", async () => {
    const r = await gantry("pools");
    expect(r.code).toBe(0);
    expect(r.out.split("\n")[0]).toMatch(
      /^POOL\s+PROVIDER\s+DESIRED\s+READY\s+JOINING\s+REPAIRING\s+UNHEALTHY\s+LAST EVENT$/,
    );
    expect(row(r.out, "web")).toEqual([
      "web",
      "local",
      "3",
      "1",
      "1",
      "0",
      "1",
      `halted: ${STATUS.halted}`,
    ]);
    expect(row(r.out, "db")).toEqual(["db", "local", "2", "-", "-", "-", "-", "(no status yet)"]);
  });

  it("--json is the API's list, status included", async () => {
    const list = JSON.parse((await gantry("pools", "--json")).out) as PoolView[];
    expect(list.map((p) => p.name)).toEqual(["db", "web"]);
    expect(list[1]!.status?.halted).toBe(STATUS.halted);
    expect(list[1]!.addressPattern).toBe("10.100.6.{instance}");
  });

  it("marks the halt in yellow on a terminal", () => {
    const lines: string[] = [];
    const o: Output = { out: (l) => lines.push(l), err: () => undefined, tty: true };
    const view = { name: "web", spec: { provider: "local", size: 3 }, status: STATUS };
    showPools(o, [view as unknown as PoolView]);
    expect(lines[1]).toContain(`\u001b[33mhalted: ${STATUS.halted}\u001b[39m`);
  });
});

describe("gantry pools:info", () => {
  it("shows the pool's settings and a row per node, with why it is not ready", async () => {
    const r = await gantry("pools:info", "web");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^addresses:\s+10\.100\.6\.\{instance\}$/m);
    expect(r.out).toMatch(/^size:\s+3, may scale 3-5$/m);
    expect(r.out).toMatch(/^NAME\s+INSTANCE\s+ADDRESS\s+PHASE\s+REASON$/m);
    expect(row(r.out, "web-3")).toEqual([
      "web-3",
      "3",
      "10.100.6.3",
      "unhealthy",
      "down since 12:00:01 (repairAfter 60s)",
    ]);
    const view = JSON.parse((await gantry("pools:info", "web", "--json")).out) as PoolView;
    expect(view.status?.nodes.map((n) => n.phase)).toEqual(["ready", "joining", "unhealthy"]);
    const missing = await gantry("pools:info", "nope");
    expect([missing.code, missing.err]).toEqual([1, 'gantry: pool "nope" not found']);
  });
});

describe("gantry pools:scale and pools:replace", () => {
  it("scales within the bounds, and names the bound to raise", async () => {
    const over = await gantry("pools:scale", "web", "6");
    expect(over.code).toBe(1);
    expect(over.err).toBe(
      "gantry: pools.web.max is 5: raise it in gantry.yaml to scale web to 6 (size)",
    );
    const bad = await gantry("pools:scale", "web", "many");
    expect(bad.err).toMatch(/size must be a whole number/);
    const ok = await gantry("pools:scale", "web", "5");
    expect([ok.code, ok.out]).toEqual([0, "web: scaling to 5 nodes (see gantry pools)"]);
    expect(row((await gantry("pools")).out, "web")[2]).toBe("5 (scaled)");
  });

  it("replaces a node of the pool, and refuses one it does not have", async () => {
    const one = await gantry("pools:replace", "web", "web-2");
    expect(one.out).toBe("web: replacing web-2, one at a time (see gantry pools:info web)");
    const unknown = await gantry("pools:replace", "web", "db-1");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/node "db-1" of pool "web" .*not found/);
    expect((await pools.get("web"))?.replace?.nodes).toEqual(["web-2"]);
  });

  it("has help with examples", async () => {
    const r = await gantry("pools:replace", "--help");
    expect(r.out).toContain("$ gantry pools:replace web web-2");
  });
});

describe("gantry nodes", () => {
  it("shows a pool node's pool and address, also when it is down", async () => {
    const r = await gantry("nodes");
    expect(r.out.split("\n")[0]).toMatch(/^NODE\s+POOL\s+ADDRESS\s+STATUS\s+INSTANCES/);
    expect(row(r.out, "web-1").slice(0, 4)).toEqual(["web-1", "web", "10.100.6.1", "ready"]);
    expect(row(r.out, "web-3").slice(0, 4)).toEqual(["web-3", "web", "10.100.6.3", "down"]);
    expect(row(r.out, "plain").slice(0, 4)).toEqual(["plain", "-", "-", "ready"]);
  });

  it("--json entries carry pool and address", async () => {
    const list = JSON.parse((await gantry("nodes", "--json")).out) as {
      name: string;
      pool?: string;
      address?: string;
    }[];
    const by = Object.fromEntries(list.map((n) => [n.name, n]));
    expect([by["web-1"]?.pool, by["web-1"]?.address]).toEqual(["web", "10.100.6.1"]);
    expect([by["web-3"]?.pool, by["web-3"]?.address]).toEqual(["web", "10.100.6.3"]);
    expect(by["plain"]).not.toHaveProperty("pool");
  });
});
