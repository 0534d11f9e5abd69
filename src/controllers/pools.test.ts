/**
 * The pool controller over a real embedded store and the memory provider. Agents are simulated:
 * a running machine's "agent" joins (nodes/<name> on a lease) and a crashed one's lease is
 * revoked, as its expiry would.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { K } from "../model/keys.js";
import { PoolSpecSchema, type PoolRecord, type PoolStatus } from "../model/pool.js";
import type { NodeRecord } from "../model/node.js";
import { MemoryMachines, MemoryProvider } from "../pools/memory/index.js";
import type { NodeProvider, NodeSpec, PoolNode } from "../pools/provider.js";
import { openSqliteStore } from "../store/sqlite/index.js";
import { text, type Store } from "../store/index.js";
import { startPoolController, type PoolController, type PoolNodeRef } from "./pools.js";

let dir: string;
let store: Store;
let machines: MemoryMachines;
/** A second provider's machines (a pool moving from one provider to another). */
let others: MemoryMachines;
let controller: PoolController | undefined;
let agents: FakeAgents;
const asked: PoolNodeRef[] = [];
const forgotten: string[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gantry-pools-ctl-"));
  store = await openSqliteStore({ dir, durability: "process" });
  machines = new MemoryMachines();
  others = new MemoryMachines();
  agents = new FakeAgents(store, [machines, others]);
  asked.length = 0;
  forgotten.length = 0;
});

afterEach(async () => {
  await controller?.stop();
  controller = undefined;
  await agents.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(
  provider: NodeProvider = new MemoryProvider(machines),
  more: Record<string, NodeProvider> = {},
): PoolController {
  controller = startPoolController({
    store,
    // The memory provider stands in for `local` (pools name one of the real kinds).
    providers: { local: provider, ...more },
    credentials: (node) => {
      asked.push(node);
      return Promise.resolve({ server: "http://127.0.0.1:1", nodeToken: `t-${node.name}` });
    },
    forgetCredentials: (node) => {
      forgotten.push(node);
      return Promise.resolve();
    },
    pollMs: 50,
    plan: { drainTimeoutMs: 2000 },
    log: () => undefined,
  });
  return controller;
}

async function putPool(spec: object, over: Partial<PoolRecord> = {}): Promise<void> {
  const record: PoolRecord = {
    name: "web",
    spec: PoolSpecSchema.parse({ provider: "local", size: 3, ...spec }),
    addressPattern: "10.100.6.{instance}",
    settingsHash: "h1",
    updatedAt: new Date().toISOString(),
    updatedBy: "test",
    ...over,
  };
  await store.put(K.poolSpecs + "web", JSON.stringify(record));
}

async function status(): Promise<PoolStatus | undefined> {
  const kv = await store.get(K.poolStatus + "web");
  return kv === undefined ? undefined : (JSON.parse(text(kv.value)) as PoolStatus);
}

async function until<T>(
  what: string,
  f: () => Promise<T | undefined | false>,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ready = (n: number) => async () => {
  const s = await status();
  return s?.ready === n && s.nodes.length === n ? s : undefined;
};

const ids = (): Record<string, string> =>
  Object.fromEntries([...machines.nodes.values()].map((m) => [m.name, m.providerId]));

/** Each running machine's agent joins once; a machine that stops or goes loses its lease. */
class FakeAgents {
  private readonly joined = new Map<string, { id: string; lease: string }>();
  /** Machines (provider ids) whose agents stop heartbeating although they run (a partition). */
  readonly silenced = new Set<string>();
  private timer: ReturnType<typeof setInterval>;
  private busy = false;

  constructor(
    private readonly store: Store,
    private readonly fleets: MemoryMachines[],
  ) {
    this.timer = setInterval(() => void this.tick(), 20);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const all = new Map(this.fleets.flatMap((f) => [...f.nodes]));
      for (const [name, j] of this.joined) {
        const m = all.get(name);
        if (m?.providerId !== j.id || m.state !== "running" || this.silenced.has(m.providerId)) {
          await this.store.revokeLease(j.lease).catch(() => undefined);
          this.joined.delete(name);
        }
      }
      for (const m of all.values()) {
        if (m.state !== "running" || this.joined.has(m.name) || this.silenced.has(m.providerId))
          continue;
        const lease = await this.store.grantLease(10);
        const rec: NodeRecord = {
          name: m.name,
          facts: { hostname: m.name, cpus: 1, memory: 1, addresses: [m.address] },
          ttl: 10,
          joinedAt: new Date().toISOString(),
        };
        await this.store.put(K.nodes + m.name, JSON.stringify(rec), { lease: lease.id });
        this.joined.set(m.name, { id: m.providerId, lease: lease.id });
      }
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
  }
}

describe("pool controller (memory provider, real store)", () => {
  it("creates the pool's nodes with their addresses, labels and converge settings; all become ready", async () => {
    await putPool({ labels: { tier: "front" }, vars: { a: 1 } });
    start();
    const s = await until("3 ready", ready(3));
    expect(s.nodes.map((n) => `${n.name} ${n.address} ${n.phase}`)).toEqual([
      "web-1 10.100.6.1 ready",
      "web-2 10.100.6.2 ready",
      "web-3 10.100.6.3 ready",
    ]);
    expect(s).toMatchObject({ desired: 3, joining: 0, unhealthy: 0 });
    const labels = await store.get(K.nodeLabels + "web-2");
    expect(JSON.parse(text(labels!.value))).toEqual({
      tier: "front",
      pool: "web",
      address: "10.100.6.2",
    });
    const converge = await store.get(K.convergeNodes + "web-2");
    expect(JSON.parse(text(converge!.value))).toEqual({
      roles: [],
      vars: { a: 1 },
      labels: { tier: "front", pool: "web", address: "10.100.6.2" },
    });
    expect(asked.map((a) => a.name).sort()).toEqual(["web-1", "web-2", "web-3"]);
    expect(asked.find((a) => a.name === "web-3")?.labels).toMatchObject({ address: "10.100.6.3" });
  });

  it("gives its nodes new roles, vars and labels in place when the pool's change", async () => {
    await putPool({ size: 2, vars: { a: 1 } });
    start();
    await until("2 ready", ready(2));
    const ids = (): string[] => [...machines.nodes.values()].map((n) => n.providerId).sort();
    const made = ids();
    await putPool({ size: 2, roles: ["web"], vars: { a: 2 }, labels: { tier: "back" } });
    const settings = async (): Promise<unknown> => {
      const kv = await store.get(K.convergeNodes + "web-1");
      return kv === undefined ? undefined : JSON.parse(text(kv.value));
    };
    const want = {
      roles: ["web"],
      vars: { a: 2 },
      labels: { tier: "back", pool: "web", address: "10.100.6.1" },
    };
    await until("web-1's new settings", async () =>
      JSON.stringify(await settings()) === JSON.stringify(want) ? true : undefined,
    );
    // In place: no machine was made again.
    expect(ids()).toEqual(made);
  });

  it("repairs a stopped machine under the same name and address, and revokes its old credentials", async () => {
    await putPool({});
    start();
    await until("3 ready", ready(3));
    const before = ids();
    machines.crash("web-2");
    await until("web-2 replaced", async () => {
      const s = await status();
      return ids()["web-2"] !== before["web-2"] && s?.ready === 3 ? s : undefined;
    });
    expect(ids()["web-1"]).toBe(before["web-1"]);
    expect(ids()["web-3"]).toBe(before["web-3"]);
    expect(machines.nodes.get("web-2")?.address).toBe("10.100.6.2");
    expect(forgotten).toEqual(["web-2"]);
    expect((await status())?.lastEvent?.message).toMatch(/^created web-2 \(10\.100\.6\.2\) again/);
  });

  it("repairs a node whose agent is silent only after repairAfter", async () => {
    await putPool({ repairAfter: "1s" });
    start();
    await until("3 ready", ready(3));
    const before = ids();
    const t0 = Date.now();
    agents.silenced.add(before["web-3"]!);
    await until("web-3 down", async () => (await status())?.nodes[2]?.phase === "down");
    await until("web-3 replaced", async () => ids()["web-3"] !== before["web-3"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    await until("3 ready", ready(3));
  });

  it("does not repair above maxUnhealthy, and says why", async () => {
    await putPool({ maxUnhealthy: 1 });
    start();
    await until("3 ready", ready(3));
    const before = ids();
    machines.crash("web-1");
    machines.crash("web-2");
    const s = await until("halted", async () => (await status())?.halted);
    expect(s).toBe(
      "2 of 3 nodes unhealthy (more than maxUnhealthy 1): not repairing — a network partition must not destroy the fleet",
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(ids()).toEqual(before);
    expect([...machines.nodes.values()].map((m) => m.state)).toEqual([
      "stopped",
      "stopped",
      "running",
    ]);
  });

  it("scales down the highest numbers: drained, destroyed once their instances are gone, then forgotten", async () => {
    await putPool({});
    start();
    await until("3 ready", ready(3));
    await store.put(K.assignments + "web-3/x1", JSON.stringify({ app: "a" }));
    await putPool({ size: 1 });
    await until("web-2 gone", async () => !machines.nodes.has("web-2"));
    const drain = await store.get(K.drains + "web-3");
    expect(JSON.parse(text(drain!.value))).toMatchObject({ node: "web-3", by: "pool web" });
    expect(machines.nodes.has("web-3")).toBe(true);
    expect((await status())?.nodes.find((n) => n.name === "web-3")?.phase).toBe("draining");
    await store.delete(K.assignments + "web-3/x1");
    await until("1 ready", ready(1));
    expect([...machines.nodes.keys()]).toEqual(["web-1"]);
    for (const prefix of [K.drains, K.nodeLabels, K.convergeNodes, K.poolNodes + "web/"]) {
      const keys = (await store.range({ prefix }, { keysOnly: true })).kvs.map((kv) => kv.key);
      expect(keys.filter((k) => /web-[23]$/.test(k))).toEqual([]);
    }
  });

  it("retries a failed create with backoff and keeps the error in the status", async () => {
    await putPool({ size: 1 });
    let fails = 2;
    const inner = new MemoryProvider(machines);
    const flaky: NodeProvider = {
      name: "local",
      create: (spec: NodeSpec): Promise<PoolNode> =>
        fails-- > 0 ? Promise.reject(new Error("no capacity")) : inner.create(spec),
      destroy: (n) => inner.destroy(n),
      list: (p) => inner.list(p),
      describe: (n) => inner.describe(n),
    };
    const t0 = Date.now();
    start(flaky);
    const failed = await until("an error", async () => (await status())?.lastEvent);
    expect(failed).toMatchObject({ message: "creating web-1 failed: no capacity", error: true });
    await until("1 ready", ready(1));
    // 1 s after the first failure, 2 s after the second.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
  }, 10_000);

  it("replaces a node made with other settings: a surge node first, then the old one goes", async () => {
    await putPool({ size: 2 });
    start();
    await until("2 ready", ready(2));
    await putPool({ size: 2 }, { settingsHash: "h2" });
    let most = 0;
    await until(
      "both replaced",
      async () => {
        most = Math.max(most, machines.nodes.size);
        const s = await status();
        const names = s?.nodes.map((n) => n.name).join(",");
        // web-3 replaces web-1; web-1's number, free again, goes to web-2's replacement.
        return s?.ready === 2 && names === "web-1,web-3" ? s : undefined;
      },
      8000,
    );
    // One at a time: never more than one surge node.
    expect(most).toBeLessThanOrEqual(3);
    const recs = await store.range({ prefix: K.poolNodes + "web/" });
    expect(
      recs.kvs.map((kv) => (JSON.parse(text(kv.value)) as { settingsHash: string }).settingsHash),
    ).toEqual(["h2", "h2"]);
  }, 10_000);

  it("a deleted pool is drained, destroyed and removed", async () => {
    await putPool({ size: 2 });
    start();
    await until("2 ready", ready(2));
    await putPool({ size: 2 }, { deletedAt: new Date().toISOString() });
    await until("pool removed", async () => (await store.get(K.poolSpecs + "web")) === undefined);
    expect(machines.nodes.size).toBe(0);
    expect(await status()).toBeUndefined();
    expect((await store.range({ prefix: K.poolNodes }, { keysOnly: true })).count).toBe(0);
  });

  it("records a node in pools/nodes before asking the provider for it (a new leader finds the create)", async () => {
    await putPool({ size: 1 });
    const inner = new MemoryProvider(machines);
    const seen: (string | undefined)[] = [];
    start({
      name: "local",
      create: async (spec) => {
        const kv = await store.get(`${K.poolNodes}web/${spec.name}`);
        seen.push(kv === undefined ? undefined : text(kv.value));
        return inner.create(spec);
      },
      destroy: (n) => inner.destroy(n),
      list: (p) => inner.list(p),
      describe: (n) => inner.describe(n),
    });
    await until("1 ready", ready(1));
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0]!)).toMatchObject({
      name: "web-1",
      instance: 1,
      address: "10.100.6.1",
      settingsHash: "h1",
    });
  });

  it("moves a pool to another provider one node at a time; the old provider destroys its own", async () => {
    await putPool({ size: 2 });
    start(new MemoryProvider(machines), { docker: new MemoryProvider(others) });
    await until("2 ready", ready(2));
    await putPool({ provider: "docker", size: 2 }, { settingsHash: "h2" });
    await until("moved", async () => machines.nodes.size === 0 && (await ready(2)()));
    expect([...others.nodes.keys()].sort()).toEqual(["web-1", "web-3"]);
  });

  it("halts a pool whose provider this server lacks", async () => {
    await putPool({ provider: "exec" });
    start();
    expect(await until("halted", async () => (await status())?.halted)).toBe(
      'no provider "exec" on this server (it has: local)',
    );
    expect(machines.nodes.size).toBe(0);
  });

  it("counts a node with roles ready once it has converged (at once when no states were pushed)", async () => {
    await putPool({ size: 1, roles: ["web"] });
    start();
    await until("ready without states", ready(1));
    await store.put(K.convergeStates, JSON.stringify({ hash: "s1" }));
    await putPool({ size: 2, roles: ["web"] });
    const s = await until("web-2 converging", async () => {
      const st = await status();
      return st?.nodes[1]?.reason === "converging" ? st : undefined;
    });
    expect(s.nodes[1]?.phase).toBe("joining");
    // Converging, it takes no app instances: drained by the pool until its states have run.
    const drain = await store.get(K.drains + "web-2");
    expect(JSON.parse(text(drain!.value))).toMatchObject({
      by: "pool web: until it has converged",
    });
    expect(await store.get(K.drains + "web-1")).toBeUndefined();
    const run = {
      node: "web-2",
      triggers: [{ kind: "start" }],
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: 1,
      statesHash: "s1",
      roles: ["web"],
      summary: { ok: 1, changed: 0, failed: 0, skipped: 0 },
    };
    await store.put(K.convergeRuns + "web-2", JSON.stringify([run]));
    await until("web-2 ready", async () => (await status())?.nodes[1]?.phase === "ready");
    expect(await store.get(K.drains + "web-2")).toBeUndefined();
  });

  it("repairs as a repair when a destroy ends while a slow list is under way (no stale plan)", async () => {
    // A list that takes longer than a destroy, asked every round (an exec or ssh provider).
    const memory = new MemoryProvider(machines);
    const slow: NodeProvider = {
      name: "slow",
      create: (spec) => memory.create(spec),
      describe: (name) => memory.describe(name),
      destroy: (name) => new Promise((r) => setTimeout(r, 50)).then(() => memory.destroy(name)),
      list: (pool) => new Promise((r) => setTimeout(r, 300)).then(() => memory.list(pool)),
    };
    await putPool({ size: 2 });
    controller = startPoolController({
      store,
      providers: { local: slow },
      credentials: () => Promise.resolve({ server: "http://127.0.0.1:1", nodeToken: "t" }),
      pollMs: 50,
      listEveryMs: { local: 0 },
      log: () => undefined,
    });
    await until("2 ready", ready(2));
    const before = ids();
    machines.crash("web-2");
    const s = await until(
      "web-2 made again",
      async () => {
        const s = await status();
        return ids()["web-2"] !== before["web-2"] && s?.ready === 2 ? s : undefined;
      },
      10_000,
    );
    // Made again because it was repaired, not as a retry of a record that lost its machine.
    expect(s.lastEvent?.message).toMatch(/^created web-2 \(10\.100\.6\.2\) again/);
  });

  it("a new leader finds the machines and makes none again", async () => {
    await putPool({});
    start();
    await until("3 ready", ready(3));
    const before = ids();
    await controller!.stop();
    start(new MemoryProvider(machines));
    await new Promise((r) => setTimeout(r, 300));
    expect(ids()).toEqual(before);
    expect((await status())?.ready).toBe(3);
  });
});
