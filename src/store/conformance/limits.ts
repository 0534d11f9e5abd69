import { describe, expect, it } from "vitest";
import { ValidationError } from "../../errors.js";
import { TooLargeError, UnavailableError } from "../errors.js";
import { MAX_KEY_BYTES, MAX_TXN_OPS, MAX_VALUE_BYTES } from "../limits.js";
import { rejection, uniquePrefix } from "./helpers.js";
import type { ConformanceTarget } from "./target.js";

export function limitTests(t: ConformanceTarget): void {
  describe("limits and bad input", () => {
    it("round-trips a 1 MiB value", async () => {
      const s = t.store();
      const p = uniquePrefix("big");
      const big = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      await s.put(p + "mib", big);
      const got = await s.get(p + "mib");
      expect(Buffer.from(got!.value).equals(big)).toBe(true);
      const several = Array.from({ length: 6 }, (_, i) => s.put(`${p}many/${i}`, big));
      await Promise.all(several);
      const all = await s.range({ prefix: p + "many/" });
      expect(all.kvs).toHaveLength(6);
      expect(all.kvs.every((kv) => kv.value.length === big.length)).toBe(true);
    });

    it("refuses oversized values, keys and transactions with TooLargeError and writes nothing", async () => {
      const s = t.store();
      const p = uniquePrefix("toolarge");
      const before = (await s.status()).revision;
      const value = await rejection(s.put(p + "v", Buffer.alloc(MAX_VALUE_BYTES + 1)));
      expect(value).toBeInstanceOf(TooLargeError);
      expect((value as TooLargeError).code).toBe("too_large");
      const key = await rejection(s.put(p + "k".repeat(MAX_KEY_BYTES), "v"));
      expect(key).toBeInstanceOf(TooLargeError);
      const ops = Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => ({
        type: "put" as const,
        key: `${p}${i}`,
        value: "x",
      }));
      expect(await rejection(s.txn({ success: ops }))).toBeInstanceOf(TooLargeError);
      const bulky = Array.from({ length: 4 }, (_, i) => ({
        type: "put" as const,
        key: `${p}bulk${i}`,
        value: Buffer.alloc(1024 * 1024),
      }));
      expect(await rejection(s.txn({ success: bulky }))).toBeInstanceOf(TooLargeError);
      expect((await s.status()).revision).toBe(before);
      expect((await s.range({ prefix: p }, { countOnly: true })).count).toBe(0);
    });

    it("refuses empty and non-string keys and bad options with ValidationError naming the field", async () => {
      const s = t.store();
      const empty = await rejection(s.put("", "v"));
      expect(empty).toBeInstanceOf(ValidationError);
      expect((empty as ValidationError).field).toBe("key");
      expect(await rejection(s.put(42 as unknown as string, "v"))).toBeInstanceOf(ValidationError);
      expect(await rejection(s.range({ prefix: "x" }, { limit: -1 }))).toBeInstanceOf(
        ValidationError,
      );
      expect(await rejection(s.range({ prefix: "x" }, { revision: 1.5 }))).toBeInstanceOf(
        ValidationError,
      );
      expect(await rejection(s.grantLease(0))).toBeInstanceOf(ValidationError);
    });

    it("answers UnavailableError after close, and ends open watches", async () => {
      const c = await t.fresh();
      await c.put("conf/closing", "v");
      const watch = c.watch({ prefix: "conf/" });
      const ended = (async () => {
        try {
          for await (const _batch of watch) {
            // nothing is written; only the end matters
          }
          return "ended";
        } catch (err) {
          return err instanceof UnavailableError ? "ended" : err;
        }
      })();
      await c.close();
      expect(await ended).toBe("ended");
      expect(await rejection(c.get("conf/closing"))).toBeInstanceOf(UnavailableError);
      expect(await rejection(c.put("conf/closing", "v2"))).toBeInstanceOf(UnavailableError);
    });
  });
}
