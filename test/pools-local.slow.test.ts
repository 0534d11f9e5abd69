/**
 * A `local` pool run by a real server in-process: written through the pools API, its three
 * nodes (real `gantry agent` processes from the built dist/) join with their pool and address as
 * labels; one agent SIGKILLed is replaced under the same name and address within repairAfter
 * (2 s) + 10 s; scaled down, the highest number goes; deleted, every node and the record go.
 * Over HTTPS a node joins with a single-use join token instead of a node token.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogClient } from "../src/client/catalog.js";
import { GantryClient } from "../src/client/client.js";
import { PoolsClient } from "../src/client/pools.js";
import { trustCa } from "../src/client/transport.js";
import { PoolSpecSchema, type PoolView } from "../src/model/pool.js";
import { LocalProvider } from "../src/pools/local/index.js";
import { startServer, type RunningServer } from "../src/server/server.js";
import { GANTRY_BIN } from "./helpers/gantry.js";
import { freePort } from "./helpers/ports.js";
import { until } from "./helpers/pool-machines.js";

const gantry = [process.execPath, GANTRY_BIN];
const dir = mkdtempSync(join(tmpdir(), "gantry-pools-scenario-"));
const dataDir = join(dir, "data");
const root = join(dataDir, "pools", "local");
let server: RunningServer;
let pools: PoolsClient;
let catalog: CatalogClient;
let admin: GantryClient;

beforeAll(async () => {
  server = await startServer({
    dataDir,
    apiHost: "127.0.0.1",
    apiPort: await freePort(),
    registry: false,
    pools: { gantry, pollMs: 250 },
    log: () => undefined,
  });
  admin = new GantryClient({ addr: server.url, token: server.adminToken });
  pools = new PoolsClient(admin);
  catalog = new CatalogClient(admin);
});

afterAll(async () => {
  await server?.stop();
  // The server stopped; its machines run on (a restarted server would find them): end them.
  const provider = new LocalProvider({ root, gantry, stopGraceMs: 5000 });
  for (const n of await provider.list("web")) await provider.destroy(n.name);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const readyPool = (n: number) => async (): Promise<PoolView | undefined> => {
  const p = await pools.get("web");
  return p?.status?.ready === n && p.status.nodes.length === n ? p : undefined;
};

const webSpec = (size: number) =>
  PoolSpecSchema.parse({
    provider: "local",
    size,
    min: 0,
    location: "nz-por-1",
    type: "web",
    repairAfter: "2s",
  });

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const agentPid = (node: string): number =>
  (JSON.parse(readFileSync(join(root, node, "agent.pid"), "utf8")) as { pid: number }).pid;

describe("a local pool on a real server", () => {
  it("makes three nodes that join with their pool and address as labels", async () => {
    await pools.setAddressPlan({
      pattern: "10.{location}.{type}.{instance}",
      locations: { "nz-por-1": 100 },
      types: { web: 6 },
    });
    await pools.put("web", webSpec(3));
    const t0 = Date.now();
    const pool = await until("3 nodes ready", 30_000, readyPool(3));
    console.log(`pools scenario: 3 local nodes ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    expect(pool.status!.nodes.map((n) => `${n.name} ${n.address} ${n.phase}`)).toEqual([
      "web-1 10.100.6.1 ready",
      "web-2 10.100.6.2 ready",
      "web-3 10.100.6.3 ready",
    ]);
    const nodes = (await catalog.nodes()).filter((n) => n.name.startsWith("web-"));
    expect(
      nodes.map((n) => `${n.name} ${n.labels?.["pool"]} ${n.labels?.["address"]}`).sort(),
    ).toEqual(["web-1 web 10.100.6.1", "web-2 web 10.100.6.2", "web-3 web 10.100.6.3"]);
  }, 40_000);

  it("replaces a node whose agent was killed under the same name and address", async () => {
    const before = (await catalog.nodes()).find((n) => n.name === "web-2")!;
    const pid = agentPid("web-2");
    const t0 = Date.now();
    process.kill(pid, "SIGKILL");
    const replaced = await until("web-2 back", 12_000, async () => {
      const node = (await catalog.nodes()).find((n) => n.name === "web-2");
      if (node === undefined || node.joinedAt === before.joinedAt) return undefined;
      return (await readyPool(3)()) === undefined ? undefined : node;
    });
    console.log(
      `pools scenario: web-2 replaced and joined in ${((Date.now() - t0) / 1000).toFixed(1)}s`,
    );
    expect(replaced.labels).toMatchObject({ pool: "web", address: "10.100.6.2" });
    expect(agentPid("web-2")).not.toBe(pid);
    const status = (await pools.get("web"))!.status!;
    expect(status.lastEvent?.message).toMatch(/^created web-2 \(10\.100\.6\.2\) again/);
    // The others were left alone.
    expect(status.nodes.map((n) => n.name)).toEqual(["web-1", "web-2", "web-3"]);
  }, 20_000);
});

describe("a local pool scaled down and deleted on a real server", () => {
  it("drains and destroys the highest number, then every node, then forgets the pool", async () => {
    const pid3 = agentPid("web-3");
    await pools.scale("web", 2);
    await until("web-3 gone", 15_000, readyPool(2));
    expect((await pools.get("web"))!.status!.nodes.map((n) => n.name)).toEqual(["web-1", "web-2"]);
    expect(processRuns(pid3)).toBe(false);
    expect((await catalog.nodes()).map((n) => n.name)).not.toContain("web-3");
    expect(await new LocalProvider({ root, gantry }).describe("web-3")).toBeUndefined();
    await pools.delete("web");
    await until("pool gone", 15_000, async () =>
      (await pools.get("web")) === undefined ? true : undefined,
    );
    expect(await new LocalProvider({ root, gantry }).list("web")).toEqual([]);
    // What the nodes were given went with them.
    const tokens = await admin.json<{ name: string }[]>("GET", "/v1/tokens");
    expect(tokens.filter((t) => t.name.startsWith("pool-node-"))).toEqual([]);
  }, 40_000);
});

describe("a local pool on a server over HTTPS", () => {
  const tlsDir = mkdtempSync(join(tmpdir(), "gantry-pools-tls-"));
  const tlsRoot = join(tlsDir, "data", "pools", "local");
  let tlsServer: RunningServer;

  afterAll(async () => {
    await tlsServer?.stop();
    const provider = new LocalProvider({ root: tlsRoot, gantry, stopGraceMs: 5000 });
    for (const n of await provider.list("web")) await provider.destroy(n.name);
    rmSync(tlsDir, { recursive: true, force: true });
  }, 30_000);

  it("joins its node with a single-use join token labelled with its pool and address", async () => {
    tlsServer = await startServer({
      dataDir: join(tlsDir, "data"),
      apiHost: "127.0.0.1",
      apiPort: await freePort(),
      tls: true,
      registry: false,
      pools: { gantry, pollMs: 250 },
      log: () => undefined,
    });
    expect(tlsServer.url).toMatch(/^https:/);
    trustCa(tlsServer.tls!.ca.certPem);
    const client = new GantryClient({ addr: tlsServer.url, token: tlsServer.adminToken });
    const tlsPools = new PoolsClient(client);
    await tlsPools.setAddressPlan({
      pattern: "10.{location}.{type}.{instance}",
      locations: { "nz-por-1": 100 },
      types: { web: 6 },
    });
    await tlsPools.put("web", webSpec(1));
    await until("1 node ready", 30_000, async () => {
      const p = await tlsPools.get("web");
      return p?.status?.ready === 1 ? p : undefined;
    });
    const node = (await new CatalogClient(client).nodes()).find((n) => n.name === "web-1");
    expect(node?.labels).toEqual({ pool: "web", address: "10.100.6.1" });
    const joins = await client.json<{ uses?: number; used: number; labels: object }[]>(
      "GET",
      "/v1/join-tokens",
    );
    expect(joins).toEqual([
      expect.objectContaining({ uses: 1, used: 1, labels: { pool: "web", address: "10.100.6.1" } }),
    ]);
    // No node token was made for it: it holds the one its join gave it.
    const tokens = await client.json<{ name: string }[]>("GET", "/v1/tokens");
    expect(tokens.map((t) => t.name)).toContain("node-web-1");
    expect(tokens.map((t) => t.name)).not.toContain("pool-node-web-1");
  }, 40_000);
});
