import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commitCreates } from "../controllers/plan-commit.js";
import { MAX_TXN_BYTES, MAX_TXN_OPS } from "../store/limits.js";
import { openSqliteStore } from "../store/sqlite/index.js";
import type { Store, TxnRequest } from "../store/index.js";
import { batches } from "./batches.js";

describe("batches", () => {
  it("keeps every transaction within 128 operations and the byte limit, in order", () => {
    const small = Array.from({ length: 1000 }, (_, i) => ({ key: `k/${i}`, value: "v" }));
    const b = batches(small);
    expect(b.map((x) => x.length)).toEqual([...Array(7).fill(128), 1000 - 7 * 128]);
    expect(b.flat()).toEqual(small);
    const big = Array.from({ length: 10 }, (_, i) => ({
      key: `b/${i}`,
      value: "x".repeat(400_000),
    }));
    const bb = batches(big);
    for (const x of bb) {
      const bytes = x.reduce((n, w) => n + w.key.length + w.value.length, 0);
      expect(bytes).toBeLessThanOrEqual(MAX_TXN_BYTES);
      expect(x.length).toBeLessThanOrEqual(MAX_TXN_OPS);
    }
    expect(bb.flat()).toEqual(big);
    expect(batches([])).toEqual([]);
  });

  it("commits 1,000 creates to a real store in transactions the store accepts, and none twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gantry-batches-"));
    const real = await openSqliteStore({ dir, durability: "process" });
    const sent: TxnRequest[] = [];
    const store = Object.assign(Object.create(real) as Store, {
      txn: (t: TxnRequest) => {
        sent.push(t);
        return real.txn(t);
      },
    });
    try {
      const writes = Array.from({ length: 1000 }, (_, i) => ({
        key: `assignments/n${i % 50}/a${i}`,
        value: "{}",
      }));
      const r = await commitCreates(store, writes);
      expect(r).toMatchObject({ transactions: 8, conflicts: 0 });
      for (const t of sent) {
        expect(t.success!.length).toBeLessThanOrEqual(MAX_TXN_OPS);
        expect(t.compare!.length).toBeLessThanOrEqual(MAX_TXN_OPS);
      }
      expect((await real.range({ prefix: "assignments/" }, { countOnly: true })).count).toBe(1000);
      const again = await commitCreates(store, writes);
      expect(again.conflicts).toBe(8);
    } finally {
      await real.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
