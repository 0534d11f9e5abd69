import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../errors.js";
import { startEtcd, type EtcdServer } from "../../../test/helpers/etcd.js";
import { collect, rejection, uniquePrefix, watchFailure } from "../conformance/helpers.js";
import { runStoreConformance } from "../conformance/suite.js";
import { CompactedError, UnavailableError } from "../errors.js";
import type { Store } from "../types.js";
import { openEtcdStore } from "./index.js";

let server: EtcdServer;
let store: Store;

beforeAll(async () => {
  server = await startEtcd();
  store = await openEtcdStore({ endpoints: server.endpoints });
});

afterAll(async () => {
  await store?.close();
  await server?.cleanup();
});

runStoreConformance({
  name: "etcd",
  store: () => store,
  client: () => openEtcdStore({ endpoints: server.endpoints }),
  independentClients: true,
  fresh: () => openEtcdStore({ endpoints: server.endpoints }),
});

describe("etcd backend", () => {
  it("refuses to open when no endpoint answers, naming the endpoints", async () => {
    const started = Date.now();
    const err = await rejection(
      openEtcdStore({ endpoints: ["http://127.0.0.1:1"], dialTimeoutMs: 1000 }),
    );
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/^cannot reach etcd at http:\/\/127\.0\.0\.1:1: /);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("learns of compaction by another client, for status() and CompactedError", async () => {
    const other = await openEtcdStore({ endpoints: server.endpoints });
    try {
      const p = uniquePrefix("foreign-compact");
      const r1 = (await store.put(p + "k", "1")).revision;
      const r2 = (await store.put(p + "k", "2")).revision;
      await other.compact(r2);
      expect((await store.status()).compactRevision).toBe(r2);
      const err = await rejection(store.get(p + "k", { revision: r1 }));
      expect(err).toBeInstanceOf(CompactedError);
      expect((err as CompactedError).compactRevision).toBe(r2);
    } finally {
      await other.close();
    }
  });

  it("refuses what etcd would refuse before sending it, naming the field", async () => {
    const p = uniquePrefix("refuse");
    const inDeleted = await rejection(
      store.txn({
        success: [
          { type: "delete", range: { prefix: p } },
          { type: "put", key: p + "a", value: "1" },
        ],
      }),
    );
    expect(inDeleted).toBeInstanceOf(ValidationError);
    expect((inDeleted as ValidationError).field).toBe("success[1].key");
    const badLease = await rejection(store.put(p + "k", "v", { lease: "12x" }));
    expect((badLease as ValidationError).field).toBe("lease");
    const badCompare = await rejection(
      store.txn({ compare: [{ key: p + "k", target: "version", op: "=~" as "==", value: 1 }] }),
    );
    expect((badCompare as ValidationError).field).toBe("compare[0].op");
  });
});

describe("etcd backend watch flow control", () => {
  it("keeps every event, in order, for a consumer that falls far behind", async () => {
    const p = uniquePrefix("slow");
    const watch = store.watch({ prefix: p });
    await new Promise((r) => setTimeout(r, 50));
    // 128 revisions of 64 events each arrive while nobody reads the watch.
    for (let t = 0; t < 128; t += 8) {
      await Promise.all(
        Array.from({ length: 8 }, (_, j) =>
          store.txn({
            success: Array.from({ length: 64 }, (_, i) => ({
              type: "put" as const,
              key: `${p}${String((t + j) * 64 + i).padStart(5, "0")}`,
              value: "v",
            })),
          }),
        ),
      );
    }
    const { events, batches } = await collect(watch, 128 * 64, 30_000);
    watch.cancel();
    expect(events).toHaveLength(128 * 64);
    expect(batches.every((b) => b.length === 64)).toBe(true);
    const revisions = batches.map((b) => b[0]!.kv.modRevision);
    expect(new Set(revisions).size).toBe(128);
    expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
  });
});

describe("etcd backend across etcd restarts", () => {
  let own: EtcdServer;
  let s: Store;

  beforeAll(async () => {
    own = await startEtcd();
    s = await openEtcdStore({ endpoints: own.endpoints, requestTimeoutMs: 1500 });
  });

  afterAll(async () => {
    await s?.close();
    await own?.cleanup();
  });

  it("resumes a watch after a restart and a kill -9, losing and repeating nothing", async () => {
    const p = uniquePrefix("restart");
    const watch = s.watch({ prefix: p });
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 10; i++) await s.put(`${p}a${i}`, "x");
    await own.stop();
    await own.start();
    for (let i = 0; i < 10; i++) await s.put(`${p}b${i}`, "x");
    await own.kill();
    await own.start();
    for (let i = 0; i < 10; i++) await s.put(`${p}c${i}`, "x");
    const { events } = await collect(watch, 30);
    // Nothing more arrives: no event is repeated after the reconnects.
    const extra = await Promise.race([
      collect(watch, 1, 500).then(
        (r) => r.events,
        () => [],
      ),
    ]);
    watch.cancel();
    expect(extra).toEqual([]);
    const keys = events.map((e) => e.kv.key.slice(p.length));
    expect(keys).toEqual(
      ["a", "b", "c"].flatMap((x) => Array.from({ length: 10 }, (_, i) => x + i)),
    );
    const revisions = events.map((e) => e.kv.modRevision);
    expect(revisions).toEqual([...new Set(revisions)].sort((a, b) => a - b));
  });

  it("fails a watch whose resume revision was compacted while etcd was away", async () => {
    const p = uniquePrefix("away");
    const from = (await s.status()).revision + 1;
    const watch = s.watch({ prefix: p }, { startRevision: from });
    await new Promise((r) => setTimeout(r, 50));
    // Writes elsewhere, then compaction past where the watch would resume.
    for (let i = 0; i < 3; i++) await s.put(uniquePrefix("elsewhere") + "k", "v");
    const compactAt = (await s.status()).revision;
    await s.compact(compactAt);
    await own.stop();
    await own.start();
    const err = await watchFailure(watch);
    expect(err).toBeInstanceOf(CompactedError);
    expect((err as CompactedError).compactRevision).toBe(compactAt);
  });

  it("answers UnavailableError in bounded time while etcd is down, and recovers", async () => {
    const p = uniquePrefix("down");
    const lease = await s.grantLease(30);
    expect(await s.keepAlive(lease.id)).toBe(30);
    await own.stop();
    const began = Date.now();
    expect(await rejection(s.put(p + "k", "v"))).toBeInstanceOf(UnavailableError);
    expect(await rejection(s.get(p + "k"))).toBeInstanceOf(UnavailableError);
    expect(await rejection(s.keepAlive(lease.id))).toBeInstanceOf(UnavailableError);
    expect(Date.now() - began).toBeLessThan(3 * 1500 + 1000);
    await own.start();
    await s.put(p + "k", "v");
    expect(await s.keepAlive(lease.id)).toBe(30);
    expect((await s.get(p + "k"))?.version).toBe(1);
  });
});
