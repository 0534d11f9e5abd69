/**
 * The world of the pool controller's tests (pools.test.ts, pools-lifecycle.test.ts): a real
 * embedded store and the memory provider. Agents are simulated: a running machine's "agent" joins
 * (nodes/<name> on a lease) and a crashed one's lease is revoked, as its expiry would.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { K } from "../model/keys.js";
import { PoolSpecSchema, type PoolRecord, type PoolStatus } from "../model/pool.js";
import type { NodeRecord } from "../model/node.js";
import { MemoryMachines, MemoryProvider } from "../pools/memory/index.js";
import { fixedProviders, type NodeProvider } from "../pools/provider.js";
import { openSqliteStore } from "../store/sqlite/index.js";
import { text, type Store } from "../store/index.js";
import { startPoolController, type PoolController, type PoolNodeRef } from "./pools.js";

/**
 * One test's parts, made again before each test by the hooks `poolsWorld` registers. The helpers
 * are arrow functions, so a test may take them out of the world (`const { start } = w`).
 */
export class PoolsWorld {
  store!: Store;
  machines!: MemoryMachines;
  /** A second provider's machines (a pool moving from one provider to another). */
  others!: MemoryMachines;
  /** Stopped after each test; a test that starts its own controller sets it here. */
  controller: PoolController | undefined;
  agents!: FakeAgents;
  /** The nodes credentials were asked for. */
  readonly asked: PoolNodeRef[] = [];
  /** The nodes whose credentials were forgotten. */
  readonly forgotten: string[] = [];
  readonly until = until;

  readonly start = (
    provider: NodeProvider = new MemoryProvider(this.machines),
    more: Record<string, NodeProvider> = {},
  ): PoolController => {
    this.controller = startPoolController({
      store: this.store,
      // The memory provider stands in for `local` (pools name one of the real kinds).
      providers: fixedProviders({ local: provider, ...more }),
      credentials: (node) => {
        this.asked.push(node);
        return Promise.resolve({ server: "http://127.0.0.1:1", nodeToken: `t-${node.name}` });
      },
      forgetCredentials: (node) => {
        this.forgotten.push(node);
        return Promise.resolve();
      },
      pollMs: 50,
      plan: { drainTimeoutMs: 2000 },
      log: () => undefined,
    });
    return this.controller;
  };

  readonly putPool = async (spec: object, over: Partial<PoolRecord> = {}): Promise<void> => {
    const record: PoolRecord = {
      name: "web",
      spec: PoolSpecSchema.parse({ provider: "local", size: 3, ...spec }),
      addressPattern: "10.100.6.{instance}",
      settingsHash: "h1",
      updatedAt: new Date().toISOString(),
      updatedBy: "test",
      ...over,
    };
    await this.store.put(K.poolSpecs + "web", JSON.stringify(record));
  };

  readonly status = async (): Promise<PoolStatus | undefined> => {
    const kv = await this.store.get(K.poolStatus + "web");
    return kv === undefined ? undefined : (JSON.parse(text(kv.value)) as PoolStatus);
  };

  /** A check for `until`: the status once n nodes are ready and there are n. */
  readonly ready = (n: number) => async (): Promise<PoolStatus | undefined> => {
    const s = await this.status();
    return s?.ready === n && s.nodes.length === n ? s : undefined;
  };

  /** Each machine's provider id, by name. */
  readonly ids = (): Record<string, string> =>
    Object.fromEntries([...this.machines.nodes.values()].map((m) => [m.name, m.providerId]));
}

/** Registers the hooks that make and tear down the world around each test of the calling file. */
export function poolsWorld(): PoolsWorld {
  const w = new PoolsWorld();
  let dir = "";

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "gantry-pools-ctl-"));
    w.store = await openSqliteStore({ dir, durability: "process" });
    w.machines = new MemoryMachines();
    w.others = new MemoryMachines();
    w.agents = new FakeAgents(w.store, [w.machines, w.others]);
    w.asked.length = 0;
    w.forgotten.length = 0;
  });

  afterEach(async () => {
    await w.controller?.stop();
    w.controller = undefined;
    await w.agents.stop();
    await w.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  return w;
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

/** Each running machine's agent joins once; a machine that stops or goes loses its lease. */
export class FakeAgents {
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
