/**
 * The pool controller over a real embedded store and the memory provider (pools-test-world.ts),
 * over a pool's life: scaling down, retries, rolling replacement, deletion, a move to another
 * provider, a missing provider, the converge gate, a slow list and a new leader.
 */
import { describe, expect, it } from "vitest";
import { K } from "../model/keys.js";
import { MemoryProvider } from "../pools/memory/index.js";
import {
  fixedProviders,
  type NodeProvider,
  type NodeSpec,
  type PoolNode,
} from "../pools/provider.js";
import { text } from "../store/index.js";
import { startPoolController } from "./pools.js";
import { poolsWorld } from "./pools-test-world.js";

const w = poolsWorld();
const { start, putPool, status, until, ready, ids } = w;

describe("pool controller over a pool's life (memory provider, real store)", () => {
  it("scales down the highest numbers: drained, destroyed once their instances are gone, then forgotten", async () => {
    await putPool({});
    start();
    await until("3 ready", ready(3));
    await w.store.put(K.assignments + "web-3/x1", JSON.stringify({ app: "a" }));
    await putPool({ size: 1 });
    await until("web-2 gone", async () => !w.machines.nodes.has("web-2"));
    const drain = await w.store.get(K.drains + "web-3");
    expect(JSON.parse(text(drain!.value))).toMatchObject({ node: "web-3", by: "pool web" });
    expect(w.machines.nodes.has("web-3")).toBe(true);
    // The status is written at the end of the round that drained it: wait for that write.
    await until("web-3 shown draining", async () =>
      (await status())?.nodes.find((n) => n.name === "web-3")?.phase === "draining"
        ? true
        : undefined,
    );
    await w.store.delete(K.assignments + "web-3/x1");
    await until("1 ready", ready(1));
    expect([...w.machines.nodes.keys()]).toEqual(["web-1"]);
    for (const prefix of [K.drains, K.nodeLabels, K.convergeNodes, K.poolNodes + "web/"]) {
      const keys = (await w.store.range({ prefix }, { keysOnly: true })).kvs.map((kv) => kv.key);
      expect(keys.filter((k) => /web-[23]$/.test(k))).toEqual([]);
    }
  });

  it("retries a failed create with backoff and keeps the error in the status", async () => {
    await putPool({ size: 1 });
    let fails = 2;
    const inner = new MemoryProvider(w.machines);
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
        most = Math.max(most, w.machines.nodes.size);
        const s = await status();
        const names = s?.nodes.map((n) => n.name).join(",");
        // web-3 replaces web-1; web-1's number, free again, goes to web-2's replacement.
        return s?.ready === 2 && names === "web-1,web-3" ? s : undefined;
      },
      8000,
    );
    // One at a time: never more than one surge node.
    expect(most).toBeLessThanOrEqual(3);
    const recs = await w.store.range({ prefix: K.poolNodes + "web/" });
    expect(
      recs.kvs.map((kv) => (JSON.parse(text(kv.value)) as { settingsHash: string }).settingsHash),
    ).toEqual(["h2", "h2"]);
  }, 10_000);

  it("a deleted pool is drained, destroyed and removed", async () => {
    await putPool({ size: 2 });
    start();
    await until("2 ready", ready(2));
    await putPool({ size: 2 }, { deletedAt: new Date().toISOString() });
    await until("pool removed", async () => (await w.store.get(K.poolSpecs + "web")) === undefined);
    expect(w.machines.nodes.size).toBe(0);
    expect(await status()).toBeUndefined();
    expect((await w.store.range({ prefix: K.poolNodes }, { keysOnly: true })).count).toBe(0);
  });

  it("records a node in pools/nodes before asking the provider for it (a new leader finds the create)", async () => {
    await putPool({ size: 1 });
    const inner = new MemoryProvider(w.machines);
    const seen: (string | undefined)[] = [];
    start({
      name: "local",
      create: async (spec) => {
        const kv = await w.store.get(`${K.poolNodes}web/${spec.name}`);
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
    start(new MemoryProvider(w.machines), { docker: new MemoryProvider(w.others) });
    await until("2 ready", ready(2));
    await putPool({ provider: "docker", size: 2 }, { settingsHash: "h2" });
    await until("moved", async () => w.machines.nodes.size === 0 && (await ready(2)()));
    expect([...w.others.nodes.keys()].sort()).toEqual(["web-1", "web-3"]);
  });

  it("halts a pool whose provider this server lacks", async () => {
    await putPool({ provider: "exec" });
    start();
    expect(await until("halted", async () => (await status())?.halted)).toBe(
      'no provider "exec" on this server (it has: local)',
    );
    expect(w.machines.nodes.size).toBe(0);
  });

  it("counts a node with roles ready once it has converged (at once when no states were pushed)", async () => {
    await putPool({ size: 1, roles: ["web"] });
    start();
    await until("ready without states", ready(1));
    await w.store.put(K.convergeStates, JSON.stringify({ hash: "s1" }));
    await putPool({ size: 2, roles: ["web"] });
    const s = await until("web-2 converging", async () => {
      const st = await status();
      return st?.nodes[1]?.reason === "converging" ? st : undefined;
    });
    expect(s.nodes[1]?.phase).toBe("joining");
    // Converging, it takes no app instances: drained by the pool until its states have run.
    const drain = await w.store.get(K.drains + "web-2");
    expect(JSON.parse(text(drain!.value))).toMatchObject({
      by: "pool web: until it has converged",
    });
    expect(await w.store.get(K.drains + "web-1")).toBeUndefined();
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
    await w.store.put(K.convergeRuns + "web-2", JSON.stringify([run]));
    await until("web-2 ready", async () => (await status())?.nodes[1]?.phase === "ready");
    expect(await w.store.get(K.drains + "web-2")).toBeUndefined();
  });

  it("repairs as a repair when a destroy ends while a slow list is under way (no stale plan)", async () => {
    // A list that takes longer than a destroy, asked every round (an exec or ssh provider).
    const memory = new MemoryProvider(w.machines);
    const slow: NodeProvider = {
      name: "slow",
      create: (spec) => memory.create(spec),
      describe: (name) => memory.describe(name),
      destroy: (name) => new Promise((r) => setTimeout(r, 50)).then(() => memory.destroy(name)),
      list: (pool) => new Promise((r) => setTimeout(r, 300)).then(() => memory.list(pool)),
    };
    await putPool({ size: 2 });
    w.controller = startPoolController({
      store: w.store,
      providers: fixedProviders({ local: slow }),
      credentials: () => Promise.resolve({ server: "http://127.0.0.1:1", nodeToken: "t" }),
      pollMs: 50,
      listEveryMs: { local: 0 },
      log: () => undefined,
    });
    await until("2 ready", ready(2));
    const before = ids();
    w.machines.crash("web-2");
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
    await w.controller!.stop();
    start(new MemoryProvider(w.machines));
    await new Promise((r) => setTimeout(r, 300));
    expect(ids()).toEqual(before);
    expect((await status())?.ready).toBe(3);
  });
});
