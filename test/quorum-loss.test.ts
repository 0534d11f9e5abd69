/**
 * Quorum loss is read-only, clearly: a real three-member etcd cluster under a real API server.
 * Losing the leader alone is no quorum loss: a write waits for the election and succeeds.
 * Two members killed → a write answers 503 no_quorum within 2 s, a read answers 200 with the
 * last value marked X-Gantry-Stale (and the CLI says "(stale)"), a watch opened before waits;
 * one member back → writes succeed again within seconds, without restarting anything, the
 * watch delivers the new write, and a lease kept alive before the loss did not expire.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEtcdStore, type EtcdStore } from "../src/store/etcd/index.js";
import type { Store } from "../src/store/types.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { gantry } from "./helpers/cli-in-process.js";
import { startEtcdCluster, type EtcdCluster, type EtcdMember } from "./helpers/etcd.js";

let cluster: EtcdCluster;
let store: Store;
let api: TestApi;
const home = mkdtempSync(join(tmpdir(), "gantry-quorum-"));

beforeAll(async () => {
  cluster = await startEtcdCluster(3);
  store = await openEtcdStore({ endpoints: cluster.endpoints });
  api = await startTestApi({ store });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await store?.close();
  await cluster?.cleanup();
  rmSync(home, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function http(
  method: string,
  path: string,
  body?: string,
): Promise<{
  status: number;
  stale: string | null;
  index: string | null;
  json: unknown;
  ms: number;
}> {
  const began = Date.now();
  const res = await fetch(api.url + path, {
    method,
    headers: { authorization: `Bearer ${api.adminToken}` },
    ...(body === undefined ? {} : { body }),
  });
  const json = (await res.json()) as unknown;
  return {
    status: res.status,
    stale: res.headers.get("x-gantry-stale"),
    index: res.headers.get("x-gantry-index"),
    json,
    ms: Date.now() - began,
  };
}

const value = (json: unknown): string =>
  Buffer.from((json as { value: string }).value, "base64").toString();

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const saved = { ...process.env };
  process.env["GANTRY_ADDR"] = api.url;
  process.env["GANTRY_TOKEN"] = api.adminToken;
  process.env["GANTRY_DATA_DIR"] = home;
  try {
    return await gantry(...args);
  } finally {
    for (const k of ["GANTRY_ADDR", "GANTRY_TOKEN", "GANTRY_DATA_DIR"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

describe("quorum loss", () => {
  it("is not a leader's loss: writes go on after one election, none says no_quorum", async () => {
    const leader = await cluster.leader();
    expect(leader).toBeDefined();
    await leader!.kill();
    try {
      const codes: unknown[] = [];
      const began = Date.now();
      let firstOk: number | undefined;
      while (Date.now() - began < 3_000 || firstOk === undefined) {
        if (Date.now() - began > 10_000) break;
        const put = await http("PUT", "/v1/kv/q/election", "x");
        if (put.status === 200) firstOk ??= Date.now() - began;
        codes.push(put.status === 200 ? 200 : (put.json as { error: { code: string } }).error.code);
      }
      // A write in flight when the leader died may fail (its outcome unknown: unavailable), but
      // none is refused as if quorum were lost, and writes succeed again after the election.
      expect(codes).not.toContain("no_quorum");
      expect(firstOk).toBeLessThan(3_000);
      expect(codes.at(-1)).toBe(200);
      expect(store.degraded).toBeUndefined();
    } finally {
      await leader!.start();
      await cluster.waitHealthy();
    }
  }, 60_000);

  it("is read-only and stale, clearly, and writable again once a member is back", async () => {
    expect((await http("PUT", "/v1/kv/q/config", "v1")).status).toBe(200);
    const healthy = await http("GET", "/v1/kv/q/config");
    expect(healthy.status).toBe(200);
    expect(healthy.stale).toBeNull();
    expect((await cli("kv", "get", "q/config")).err).not.toContain("(stale)");

    // A lease kept alive until the loss, and a watch opened before it.
    const lease = await store.grantLease(3);
    await store.put("q/leased", "x", { lease: lease.id });
    const seen: string[] = [];
    const watching = new AbortController();
    const watch = (async () => {
      for await (const batch of api.admin.kvWatch("q/", { recurse: true, signal: watching.signal }))
        seen.push(...batch.events.map((e) => `${e.type} ${e.key}`));
    })().catch((err: unknown) => err);

    // Kill the member the store talks to and the leader (or another when it leads itself).
    const pinned = cluster.members.find((m) => m.clientUrl === (store as EtcdStore).endpoint)!;
    const leader = await cluster.leader();
    const other = leader !== undefined && leader !== pinned ? leader : undefined;
    const victims: EtcdMember[] = [pinned, other ?? cluster.members.find((m) => m !== pinned)!];
    await store.keepAlive(lease.id);
    await Promise.all(victims.map((m) => m.kill()));

    const put = await http("PUT", "/v1/kv/q/config", "v2");
    expect(put.status).toBe(503);
    expect(put.json).toEqual({
      error: {
        code: "no_quorum",
        message: "the control plane has lost quorum: 1 of 3 servers reachable; read-only",
      },
    });
    expect(put.ms).toBeLessThan(2_000);

    const get = await http("GET", "/v1/kv/q/config");
    expect(get.status).toBe(200);
    expect(get.stale).toBe("true");
    expect(value(get.json)).toBe("v1");
    expect(store.degraded).toMatchObject({ voters: 3, reachable: 1 });
    // A blocking read waits, then answers what the member has — unless the client has seen a
    // later revision than that member (it would go back in time): then no_quorum.
    const index = Number(get.index);
    const blocked = await http("GET", `/v1/kv/q/config?index=${index}&wait=300ms`);
    expect([blocked.status, blocked.stale, value(blocked.json)]).toEqual([200, "true", "v1"]);
    expect(blocked.ms).toBeGreaterThanOrEqual(250);
    const ahead = await http("GET", `/v1/kv/q/config?index=${index + 1000}&wait=300ms`);
    expect(ahead.status).toBe(503);
    expect((ahead.json as { error: { code: string } }).error.code).toBe("no_quorum");
    const health = await http("GET", "/v1/health");
    expect(health.json).toMatchObject({ quorum: { ok: false, voters: 3, reachable: 1 } });
    // Everything that reads the store says so: the catalog, the apps, the nodes.
    for (const path of ["/v1/catalog/services", "/v1/apps", "/v1/nodes"]) {
      const read = await http("GET", path);
      expect([path, read.status, read.stale]).toEqual([path, 200, "true"]);
    }

    // Later writes fail at once; the CLI marks what it read.
    const again = await http("DELETE", "/v1/kv/q/config");
    expect(again.status).toBe(503);
    expect(again.ms).toBeLessThan(2_000);
    const shown = await cli("kv", "get", "q/config");
    expect(shown.code).toBe(0);
    expect(shown.out).toContain("v1");
    expect(shown.err).toContain("(stale)");
    const refused = await cli("kv", "put", "q/config", "v3");
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain("lost quorum");

    // Longer than the lease's TTL without quorum: etcd extends leases on a new leader.
    await sleep(4_000);

    await victims[1]!.start();
    // The first write after it waits for the election (a majority answers) and succeeds.
    const back = Date.now();
    const answer = await http("PUT", "/v1/kv/q/config", "v4");
    expect(answer.json).toMatchObject({ revision: expect.any(Number) });
    expect(Date.now() - back).toBeLessThan(5_000);
    expect((await store.get("q/leased"))?.lease).toBe(lease.id);
    await store.keepAlive(lease.id);

    const fresh = await http("GET", "/v1/kv/q/config");
    expect(value(fresh.json)).toBe("v4");
    expect(fresh.stale).toBeNull();
    expect(store.degraded).toBeUndefined();
    expect((await http("GET", "/v1/health")).json).not.toHaveProperty("quorum");
    expect((await cli("kv", "get", "q/config")).err).not.toContain("(stale)");

    // The watch waited through the loss and delivers the write made after it.
    const deadline = Date.now() + 10_000;
    while (!seen.includes("put q/config") || seen.at(-1) !== "put q/config") {
      if (Date.now() > deadline) break;
      await sleep(50);
    }
    watching.abort();
    expect(await watch).toBeUndefined();
    expect(seen.filter((e) => e === "put q/config")).toHaveLength(1);
    await store.revokeLease(lease.id);
    await victims[0]!.start();
  }, 60_000);
});
