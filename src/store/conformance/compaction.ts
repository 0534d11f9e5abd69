import { describe, expect, it } from "vitest";
import { CompactedError } from "../errors.js";
import { rejection, uniquePrefix, utf8, watchFailure } from "./helpers.js";
import type { ConformanceTarget } from "./target.js";

export function compactionTests(t: ConformanceTarget): void {
  describe("compaction", () => {
    it("drops history below the compact revision and keeps everything at or above it", async () => {
      const s = t.store();
      const p = uniquePrefix("compact");
      const r1 = (await s.put(p + "k", "v1")).revision;
      await s.put(p + "gone", "soon deleted");
      const r3 = (await s.put(p + "k", "v2")).revision;
      await s.delete(p + "gone");
      const r5 = (await s.put(p + "other", "o")).revision;
      await s.compact(r3);
      expect((await s.status()).compactRevision).toBe(r3);

      const old = await rejection(s.get(p + "k", { revision: r1 }));
      expect(old).toBeInstanceOf(CompactedError);
      expect((old as CompactedError).code).toBe("compacted");
      expect((old as CompactedError).compactRevision).toBe(r3);

      // At and after the compact revision every read still answers as before.
      expect(utf8((await s.get(p + "k", { revision: r3 }))!.value)).toBe("v2");
      const atR3 = await s.range({ prefix: p }, { revision: r3 });
      expect(atR3.kvs.map((kv) => kv.key)).toEqual([p + "gone", p + "k"]);
      const atR5 = await s.range({ prefix: p }, { revision: r5 });
      expect(atR5.kvs.map((kv) => kv.key)).toEqual([p + "k", p + "other"]);
      const k = await s.get(p + "k");
      expect(k).toMatchObject({ createRevision: r1, version: 2 });
    });

    it("fails a watch that starts below the compact revision with CompactedError", async () => {
      const s = t.store();
      const p = uniquePrefix("wcompact");
      const r1 = (await s.put(p + "a", "1")).revision;
      const r2 = (await s.put(p + "a", "2")).revision;
      await s.compact(r2);
      const err = await watchFailure(s.watch({ prefix: p }, { startRevision: r1 }));
      expect(err).toBeInstanceOf(CompactedError);
      expect((err as CompactedError).compactRevision).toBe(r2);

      // From the compact revision on, the watch works.
      const ok = s.watch({ prefix: p }, { startRevision: r2 });
      for await (const batch of ok) {
        expect(batch.map((e) => [e.kv.key, utf8(e.kv.value)])).toEqual([[p + "a", "2"]]);
        break;
      }
    });

    it("refuses to compact the past again or the future", async () => {
      const s = t.store();
      const p = uniquePrefix("compact2");
      const r = (await s.put(p + "k", "v")).revision;
      await s.compact(r);
      expect(await rejection(s.compact(r - 1))).toBeInstanceOf(CompactedError);
      const future = await rejection(s.compact(r + 1000));
      expect((future as { code?: string }).code).toBe("future_revision");
    });
  });
}
