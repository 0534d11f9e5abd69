/**
 * The etcd backend on a real three-member cluster: losing the member the client talks to (and
 * the leader with it) is survived without losing or repeating a watch event; losing quorum
 * makes writes fail with UnavailableError in bounded time, and they work again once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnavailableError } from "../src/store/errors.js";
import { EtcdStore, openEtcdStore } from "../src/store/etcd/index.js";
import type { Store, WatchEvent } from "../src/store/types.js";
import { startEtcdCluster, type EtcdCluster, type EtcdMember } from "./helpers/etcd.js";

const REQUEST_TIMEOUT_MS = 2_000;
const P = "cluster-test/";

let cluster: EtcdCluster;
let store: Store;

beforeAll(async () => {
  cluster = await startEtcdCluster(3);
  store = await openEtcdStore({
    endpoints: cluster.endpoints,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
});

afterAll(async () => {
  await store?.close();
  await cluster?.cleanup();
});

/** Write, retrying while the cluster fails over; returns how long it took. */
async function putRetrying(key: string, value: string, withinMs = 15_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await store.put(key, value);
      return Date.now() - started;
    } catch (err) {
      if (!(err instanceof UnavailableError) || Date.now() - started > withinMs) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function connectedMember(): EtcdMember {
  const url = (store as EtcdStore).endpoint;
  const m = cluster.members.find((x) => x.clientUrl === url);
  if (m === undefined) throw new Error(`the store talks to ${url}, which is no member`);
  return m;
}

/** Everything a watch delivers, in the background, until stopped. */
function record(from: number): {
  events: WatchEvent[];
  batches: number[][];
  stop(): void;
  done: Promise<unknown>;
} {
  const watch = store.watch({ prefix: P }, { startRevision: from });
  const events: WatchEvent[] = [];
  const batches: number[][] = [];
  const done = (async () => {
    for await (const batch of watch) {
      events.push(...batch);
      batches.push(batch.map((e) => e.kv.modRevision));
    }
  })().catch((err: unknown) => err);
  return { events, batches, stop: () => watch.cancel(), done };
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("etcd cluster failover", () => {
  it("survives losing the member it talks to, and fails cleanly without quorum", async () => {
    const start = (await store.status()).revision + 1;
    const watch = record(start);
    const written = new Map<string, string>();
    const put = async (i: number): Promise<number> => {
      const key = `${P}${String(i).padStart(3, "0")}`;
      written.set(key, `v${i}`);
      return putRetrying(key, `v${i}`);
    };

    for (let i = 0; i < 30; i++) await put(i);

    // Make the member the client talks to the leader, then kill it hard: the client must move
    // to another member and the others must elect a new leader.
    const victim = connectedMember();
    await cluster.moveLeader(victim);
    await victim.kill();
    const failover = await put(30);
    expect(failover).toBeLessThan(10_000);
    for (let i = 31; i < 60; i++) await put(i);
    expect((store as EtcdStore).endpoint).not.toBe(victim.clientUrl);

    const all = await store.range({ prefix: P });
    expect(all.kvs.map((kv) => [kv.key, Buffer.from(kv.value).toString()])).toEqual([...written]);

    await victim.start();
    await cluster.waitHealthy();

    // Without quorum a write fails with UnavailableError within the request timeout.
    const survivors = cluster.members.filter((m) => m !== victim);
    const stopped = [victim, survivors[0]!];
    await Promise.all(stopped.map((m) => m.stop()));
    const began = Date.now();
    // (Outside P: a write refused for want of quorum may still be committed later, by raft.)
    const err = await store.put("cluster-test-no-quorum", "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(Date.now() - began).toBeLessThan(REQUEST_TIMEOUT_MS + 2_000);

    // Quorum back: writes succeed again.
    await Promise.all(stopped.map((m) => m.start()));
    await cluster.waitHealthy();
    for (let i = 60; i < 70; i++) await put(i);
    const after = await store.range({ prefix: P }, { countOnly: true });
    expect(after.count).toBe(written.size);

    // The watch opened before all this saw every write exactly once, in order, revision by
    // revision, as a watch replaying the history now sees it.
    const last = (await store.status()).revision;
    await waitFor(() => watch.events.at(-1)?.kv.modRevision === last, 20_000);
    watch.stop();
    expect(await watch.done).toBeUndefined();
    const replay = record(start);
    await waitFor(() => replay.events.at(-1)?.kv.modRevision === last, 10_000);
    replay.stop();
    const revisions = watch.events.map((e) => e.kv.modRevision);
    expect(new Set(revisions).size).toBe(revisions.length);
    expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
    expect(watch.events.map((e) => [e.type, e.kv.key, e.kv.modRevision])).toEqual(
      replay.events.map((e) => [e.type, e.kv.key, e.kv.modRevision]),
    );
    expect(new Set(watch.events.map((e) => e.kv.key))).toEqual(new Set(written.keys()));
  }, 60_000);
});
