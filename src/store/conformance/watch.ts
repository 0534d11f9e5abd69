import { describe, expect, it } from "vitest";
import { collect, sleep, uniquePrefix, utf8 } from "./helpers.js";
import type { ConformanceTarget } from "./target.js";
import type { WatchEvent } from "../types.js";

export function watchTests(t: ConformanceTarget): void {
  describe("watch", () => {
    it("delivers puts and deletes on a prefix in revision order, with previous values", async () => {
      const s = t.store();
      const p = uniquePrefix("watch");
      const watch = s.watch({ prefix: p }, { prevKv: true });
      await sleep(50);
      const r1 = (await s.put(p + "a", "1")).revision;
      await s.put(uniquePrefix("elsewhere") + "x", "not mine");
      const r2 = (await s.put(p + "a", "2")).revision;
      const r3 = (await s.delete(p + "a")).revision;
      const { events } = await collect(watch, 3);
      watch.cancel();
      expect(events.map((e) => [e.type, e.kv.key, e.kv.modRevision])).toEqual([
        ["put", p + "a", r1],
        ["put", p + "a", r2],
        ["delete", p + "a", r3],
      ]);
      expect(utf8(events[1]!.kv.value)).toBe("2");
      expect(events[1]!.kv.version).toBe(2);
      expect(utf8(events[1]!.prevKv!.value)).toBe("1");
      expect(events[2]!.kv).toMatchObject({ version: 0, createRevision: 0 });
      expect(events[2]!.kv.value.length).toBe(0);
      expect(utf8(events[2]!.prevKv!.value)).toBe("2");
    });

    it("watches a single key and a [key, end) range", async () => {
      const s = t.store();
      const p = uniquePrefix("watchkey");
      const one = s.watch(p + "b");
      const span = s.watch({ key: p + "b", end: p + "d" });
      await sleep(50);
      for (const k of ["a", "b", "c", "d"]) await s.put(p + k, k);
      const a = await collect(one, 1);
      const b = await collect(span, 2);
      one.cancel();
      span.cancel();
      expect(a.events.map((e) => e.kv.key)).toEqual([p + "b"]);
      expect(b.events.map((e) => e.kv.key)).toEqual([p + "b", p + "c"]);
    });

    it("replays history from a start revision, then continues live", async () => {
      const s = t.store();
      const p = uniquePrefix("replay");
      const r1 = (await s.put(p + "1", "a")).revision;
      await s.put(p + "2", "b");
      const watch = s.watch({ prefix: p }, { startRevision: r1 });
      await sleep(50);
      const r3 = (await s.put(p + "3", "c")).revision;
      const { events } = await collect(watch, 3);
      watch.cancel();
      expect(events.map((e) => e.kv.key)).toEqual([p + "1", p + "2", p + "3"]);
      expect(events[2]!.kv.modRevision).toBe(r3);
    });

    it("delivers all events of one transaction in one batch", async () => {
      const s = t.store();
      const p = uniquePrefix("batch");
      const watch = s.watch({ prefix: p });
      await sleep(50);
      const res = await s.txn({
        success: [
          { type: "put", key: p + "x", value: "1" },
          { type: "put", key: p + "y", value: "2" },
          { type: "put", key: p + "z", value: "3" },
        ],
      });
      const { batches } = await collect(watch, 3);
      watch.cancel();
      expect(batches[0]!.map((e) => [e.kv.key, e.kv.modRevision])).toEqual([
        [p + "x", res.revision],
        [p + "y", res.revision],
        [p + "z", res.revision],
      ]);
    });

    it("loses nothing and repeats nothing when resumed from the last revision seen", async () => {
      const s = t.store();
      const p = uniquePrefix("resume");
      const start = (await s.status()).revision + 1;
      const perWriter = 40;
      // Eight writers race each other while the watcher disconnects and resumes twice.
      const writers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) await s.put(`${p}${w}/${i}`, String(i));
      });
      const seen: WatchEvent[] = [];
      let from = start;
      for (const chunk of [80, 120]) {
        const watch = s.watch({ prefix: p }, { startRevision: from });
        for await (const batch of watch) {
          seen.push(...batch);
          if (seen.length >= chunk) break; // leaving the loop cancels the watch: a "disconnect"
        }
        from = seen.at(-1)!.kv.modRevision + 1;
      }
      await Promise.all(writers);
      const written = (await s.range({ prefix: p }, { countOnly: true })).count;
      const last = s.watch({ prefix: p }, { startRevision: from });
      const rest = await collect(last, written - seen.length, 15_000);
      last.cancel();
      seen.push(...rest.events);

      const revisions = seen.map((e) => e.kv.modRevision);
      expect(seen).toHaveLength(written);
      expect(new Set(revisions).size).toBe(written); // no duplicates
      expect([...revisions].sort((a, b) => a - b)).toEqual(revisions); // in order
      const expected = (await s.range({ prefix: p })).kvs.map((kv) => kv.key).sort();
      expect(seen.map((e) => e.kv.key).sort()).toEqual(expected); // nothing lost
    });

    it("a watch created without a start revision sees only later events", async () => {
      const s = t.store();
      const p = uniquePrefix("later");
      await s.put(p + "old", "x");
      const watch = s.watch({ prefix: p });
      await sleep(50);
      await s.put(p + "new", "y");
      const { events } = await collect(watch, 1);
      watch.cancel();
      expect(events.map((e) => e.kv.key)).toEqual([p + "new"]);
    });

    it("ends iteration when cancelled", async () => {
      const s = t.store();
      const watch = s.watch({ prefix: uniquePrefix("cancel") });
      setTimeout(() => watch.cancel(), 50);
      const got: unknown[] = [];
      for await (const batch of watch) got.push(batch);
      expect(got).toEqual([]);
    });
  });
}
