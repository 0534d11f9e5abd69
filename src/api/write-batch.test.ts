import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_KEY_BYTES } from "../store/limits.js";
import { openSqliteStore } from "../store/sqlite/index.js";
import type { Store, TxnOp, TxnRequest } from "../store/index.js";
import { WriteBatcher } from "./write-batch.js";

let dir: string;
let store: Store;
/** The transactions the batcher sent, by the number of operations in each. */
let sent: number[];
/** Hold each transaction this long before it reaches the store (up to, at random). */
let jitterMs = 0;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gantry-write-batch-"));
  const real = await openSqliteStore({ dir, durability: "process" });
  sent = [];
  jitterMs = 0;
  // The real store, counting the transactions it is asked for.
  store = Object.assign(Object.create(real) as Store, {
    txn: async (t: TxnRequest) => {
      sent.push(t.success?.length ?? 0);
      if (jitterMs > 0) await new Promise((r) => setTimeout(r, Math.random() * jitterMs));
      return real.txn(t);
    },
  });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const put = (key: string, value: string): TxnOp => ({ type: "put", key, value });
/** A request's writes: the change and an audit-like second put. */
const request = (key: string, value: string, n: number): TxnOp[] => [
  put(key, value),
  put(`audit/${String(n).padStart(4, "0")}`, key),
];

describe("WriteBatcher", () => {
  it("sends a lone write at once, in a transaction of its own", async () => {
    const before = (await store.status()).revision;
    const rev = await new WriteBatcher(store).write("k/a", request("k/a", "1", 0));
    expect(rev).toBe(before + 1);
    expect(sent).toEqual([2]);
    expect((await store.get("k/a"))?.modRevision).toBe(rev);
  });

  it("groups concurrent writes into few transactions, each write at the revision it answers", async () => {
    const b = new WriteBatcher(store, 1);
    const revs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => b.write(`k/${i}`, request(`k/${i}`, String(i), i))),
    );
    // The first goes alone; the 39 that queued behind it go together.
    expect(sent).toEqual([2, 78]);
    for (let i = 0; i < 40; i++) {
      const kv = await store.get(`k/${i}`);
      expect(kv?.modRevision).toBe(revs[i]);
      expect(Buffer.from(kv!.value).toString()).toBe(String(i));
    }
    const audit = await store.range({ prefix: "audit/" });
    expect(audit.count).toBe(40);
  });

  it("keeps writes to one key in order, never two of them in flight", async () => {
    // Transactions in flight together would reach the store in any order.
    jitterMs = 5;
    const b = new WriteBatcher(store, 4);
    const revs = await Promise.all(
      Array.from({ length: 12 }, (_, i) => b.write("k/same", request("k/same", String(i), i))),
    );
    for (let i = 1; i < revs.length; i++) expect(revs[i]).toBeGreaterThan(revs[i - 1]!);
    expect(Buffer.from((await store.get("k/same"))!.value).toString()).toBe("11");
    expect(sent.every((n) => n === 2)).toBe(true);
  });

  it("splits a burst at the Store's limit of operations per transaction", async () => {
    const b = new WriteBatcher(store, 1);
    await Promise.all(
      Array.from({ length: 150 }, (_, i) => b.write(`k/${i}`, request(`k/${i}`, "v", i))),
    );
    expect(Math.max(...sent)).toBeLessThanOrEqual(128);
    expect(sent.reduce((a, n) => a + n, 0)).toBe(300);
    expect((await store.range({ prefix: "k/" })).count).toBe(150);
  });

  it("fails only the write the Store refuses, not the others batched with it", async () => {
    const b = new WriteBatcher(store, 1);
    const tooLong = `k/${"x".repeat(MAX_KEY_BYTES)}`;
    const results = await Promise.allSettled([
      b.write("k/first", request("k/first", "1", 0)),
      b.write("k/ok1", request("k/ok1", "1", 1)),
      b.write(tooLong, request(tooLong, "1", 2)),
      b.write("k/ok2", request("k/ok2", "1", 3)),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({
      code: "too_large",
    });
    expect(await store.get("k/ok1")).toBeDefined();
    expect(await store.get("k/ok2")).toBeDefined();
    // The refused request's audit entry was not written either.
    expect((await store.range({ prefix: "audit/" })).count).toBe(3);
  });
});
