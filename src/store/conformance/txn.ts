import { describe, expect, it } from "vitest";
import { ValidationError } from "../../errors.js";
import { uniquePrefix, utf8 } from "./helpers.js";
import type { ConformanceTarget } from "./target.js";
import type { Store } from "../types.js";

export function txnTests(t: ConformanceTarget): void {
  describe("transactions", () => {
    it("applies the success branch atomically at one revision", async () => {
      const s = t.store();
      const p = uniquePrefix("txn");
      const base = await s.put(p + "guard", "g");
      const res = await s.txn({
        compare: [{ key: p + "guard", target: "value", op: "==", value: "g" }],
        success: [
          { type: "put", key: p + "a", value: "1" },
          { type: "put", key: p + "b", value: "2" },
          { type: "delete", range: p + "guard", prevKv: true },
          { type: "get", range: { prefix: p } },
        ],
        failure: [{ type: "put", key: p + "failed", value: "x" }],
      });
      expect(res.succeeded).toBe(true);
      expect(res.revision).toBe(base.revision + 1);
      const [a, b, del, get] = res.results;
      expect(a).toMatchObject({ type: "put", revision: res.revision });
      expect(b).toMatchObject({ type: "put", revision: res.revision });
      expect(del).toMatchObject({ type: "delete", deleted: 1 });
      expect(del?.type === "delete" && del.prevKvs.map((kv) => utf8(kv.value))).toEqual(["g"]);
      // A get inside the txn sees the txn's own earlier writes.
      expect(get?.type === "get" && get.kvs.map((kv) => kv.key)).toEqual([p + "a", p + "b"]);
      const now = await s.range({ prefix: p });
      expect(now.kvs.map((kv) => [kv.key, kv.modRevision])).toEqual([
        [p + "a", res.revision],
        [p + "b", res.revision],
      ]);
    });

    it("runs the failure branch when a compare fails, and a read-only branch writes nothing", async () => {
      const s = t.store();
      const p = uniquePrefix("txnfail");
      const w = await s.put(p + "k", "v");
      const res = await s.txn({
        compare: [{ key: p + "k", target: "version", op: "==", value: 7 }],
        success: [{ type: "put", key: p + "k", value: "changed" }],
        failure: [{ type: "get", range: p + "k" }],
      });
      expect(res.succeeded).toBe(false);
      expect(res.revision).toBe(w.revision);
      expect(res.results[0]?.type === "get" && utf8(res.results[0].kvs[0]!.value)).toBe("v");
      expect((await s.status()).revision).toBe(w.revision);
    });

    it("compares value, version, createRevision, modRevision and lease with every operator", async () => {
      const s = t.store();
      const p = uniquePrefix("cmp");
      const w1 = await s.put(p + "k", "m");
      const w2 = await s.put(p + "k", "m2");
      const lease = await s.grantLease(30);
      await s.put(p + "leased", "x", { lease: lease.id });
      const check = async (compare: Parameters<Store["txn"]>[0]["compare"]): Promise<boolean> =>
        (await s.txn({ compare })).succeeded;

      expect(await check([{ key: p + "k", target: "value", op: "==", value: "m2" }])).toBe(true);
      expect(await check([{ key: p + "k", target: "value", op: "!=", value: "m2" }])).toBe(false);
      expect(await check([{ key: p + "k", target: "value", op: "<", value: "n" }])).toBe(true);
      expect(await check([{ key: p + "k", target: "value", op: ">", value: "m" }])).toBe(true);
      expect(
        await check([{ key: p + "k", target: "value", op: "==", value: Buffer.from("m2") }]),
      ).toBe(true);
      expect(await check([{ key: p + "k", target: "version", op: "==", value: 2 }])).toBe(true);
      expect(await check([{ key: p + "k", target: "version", op: ">", value: 2 }])).toBe(false);
      expect(
        await check([{ key: p + "k", target: "createRevision", op: "==", value: w1.revision }]),
      ).toBe(true);
      expect(
        await check([{ key: p + "k", target: "modRevision", op: "==", value: w2.revision }]),
      ).toBe(true);
      expect(
        await check([{ key: p + "k", target: "modRevision", op: "<", value: w2.revision }]),
      ).toBe(false);
      expect(await check([{ key: p + "leased", target: "lease", op: "==", value: lease.id }])).toBe(
        true,
      );
      expect(await check([{ key: p + "k", target: "lease", op: "==", value: "0" }])).toBe(true);
      // All compares must hold.
      expect(
        await check([
          { key: p + "k", target: "version", op: "==", value: 2 },
          { key: p + "k", target: "value", op: "==", value: "nope" },
        ]),
      ).toBe(false);
      // A missing key: revisions and version are 0 (create-if-absent), a value compare is false.
      expect(
        await check([{ key: p + "missing", target: "createRevision", op: "==", value: 0 }]),
      ).toBe(true);
      expect(await check([{ key: p + "missing", target: "version", op: "==", value: 0 }])).toBe(
        true,
      );
      expect(await check([{ key: p + "missing", target: "value", op: "!=", value: "x" }])).toBe(
        false,
      );
      await s.revokeLease(lease.id);
    });

    it("rejects a transaction that writes one key twice", async () => {
      const s = t.store();
      const p = uniquePrefix("dup");
      const before = (await s.status()).revision;
      await expect(
        s.txn({
          success: [
            { type: "put", key: p + "k", value: "1" },
            { type: "put", key: p + "k", value: "2" },
          ],
        }),
      ).rejects.toBeInstanceOf(ValidationError);
      expect((await s.status()).revision).toBe(before);
      expect(await s.get(p + "k")).toBeUndefined();
    });

    it("ends 50 concurrent compare-and-swap increments from separate clients at exactly 50", async () => {
      const p = uniquePrefix("cas");
      const key = p + "counter";
      const clients = await Promise.all(Array.from({ length: 50 }, () => t.client()));
      try {
        let conflicts = 0;
        await Promise.all(
          clients.map(async (c) => {
            for (;;) {
              const cur = await c.get(key);
              const n = cur === undefined ? 0 : Number(utf8(cur.value));
              const res = await c.txn({
                compare: [{ key, target: "modRevision", op: "==", value: cur?.modRevision ?? 0 }],
                success: [{ type: "put", key, value: String(n + 1) }],
              });
              if (res.succeeded) return;
              conflicts += 1;
            }
          }),
        );
        const final = await t.store().get(key);
        expect(utf8(final!.value)).toBe("50");
        expect(final!.version).toBe(50);
        // The race was real: clients read the same revision and some of them had to retry.
        expect(conflicts).toBeGreaterThan(0);
      } finally {
        if (t.independentClients) await Promise.all(clients.map((c) => c.close()));
      }
    });
  });
}
