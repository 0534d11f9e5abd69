import { describe, expect, it } from "vitest";
import { prefixEnd } from "../keys.js";
import { uniquePrefix } from "./helpers.js";
import type { ConformanceTarget } from "./target.js";
import type { TxnOp } from "../types.js";

export function scaleTests(t: ConformanceTarget): void {
  describe("scale", () => {
    it("reads 100,000 keys back page by page, each exactly once and in order", async () => {
      const s = t.store();
      const p = uniquePrefix("scale");
      const total = 100_000;
      const perTxn = 100;
      const key = (i: number): string => `${p}${String(i).padStart(6, "0")}`;
      // Write in transactions of 100 puts, 16 in flight.
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < total) {
            const first = next;
            next += perTxn;
            const ops: TxnOp[] = [];
            for (let i = first; i < Math.min(first + perTxn, total); i++) {
              ops.push({ type: "put", key: key(i), value: `v${i}` });
            }
            await s.txn({ success: ops });
          }
        }),
      );
      const end = prefixEnd(Buffer.from(p)).toString("utf8");
      const pageSize = 1000;
      let from = p;
      let seen = 0;
      let pages = 0;
      for (;;) {
        const page = await s.range({ key: from, end }, { limit: pageSize });
        for (const kv of page.kvs) {
          expect(kv.key).toBe(key(seen));
          seen += 1;
        }
        pages += 1;
        if (!page.more) break;
        from = page.kvs.at(-1)!.key + "\u0000";
      }
      expect(seen).toBe(total);
      expect(pages).toBe(total / pageSize);
      expect((await s.range({ prefix: p }, { countOnly: true })).count).toBe(total);
      const deleted = await s.delete({ prefix: p });
      expect(deleted.deleted).toBe(total);
    }, 180_000);
  });
}
