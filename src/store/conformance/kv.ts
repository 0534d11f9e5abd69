import { describe, expect, it } from "vitest";
import { FutureRevisionError } from "../errors.js";
import { uniquePrefix, rejection, utf8 } from "./helpers.js";
import type { ConformanceTarget } from "./target.js";

export function kvTests(t: ConformanceTarget): void {
  describe("put, get, delete", () => {
    it("tracks createRevision, modRevision and version per key", async () => {
      const s = t.store();
      const k = uniquePrefix("kv") + "a";
      const p1 = await s.put(k, "one");
      const kv1 = await s.get(k);
      expect(kv1).toMatchObject({
        key: k,
        createRevision: p1.revision,
        modRevision: p1.revision,
        version: 1,
        lease: "0",
      });
      expect(utf8(kv1!.value)).toBe("one");

      const p2 = await s.put(k, "two");
      expect(p2.revision).toBe(p1.revision + 1);
      const kv2 = await s.get(k);
      expect(kv2).toMatchObject({
        createRevision: p1.revision,
        modRevision: p2.revision,
        version: 2,
      });
      expect(utf8(kv2!.value)).toBe("two");

      const d = await s.delete(k);
      expect(d).toMatchObject({ deleted: 1, revision: p2.revision + 1 });
      expect(await s.get(k)).toBeUndefined();

      // A re-created key starts over: new createRevision, version 1.
      const p3 = await s.put(k, "three");
      expect(await s.get(k)).toMatchObject({
        createRevision: p3.revision,
        modRevision: p3.revision,
        version: 1,
      });
    });

    it("bumps the revision once per write and never on reads or no-op deletes", async () => {
      const s = t.store();
      const p = uniquePrefix("rev");
      const before = (await s.status()).revision;
      const w = await s.put(p + "x", "1");
      expect(w.revision).toBe(before + 1);
      await s.get(p + "x");
      await s.range({ prefix: p });
      expect((await s.status()).revision).toBe(w.revision);
      const d = await s.delete(p + "missing");
      expect(d).toEqual({ deleted: 0, revision: w.revision, prevKvs: [] });
      expect((await s.status()).revision).toBe(w.revision);
    });

    it("stores bytes exactly, including invalid UTF-8 and empty values", async () => {
      const s = t.store();
      const p = uniquePrefix("bytes");
      const raw = Uint8Array.from([0, 255, 128, 10, 0xc3, 0x28]);
      await s.put(p + "raw", raw);
      await s.put(p + "empty", new Uint8Array(0));
      expect(Buffer.from((await s.get(p + "raw"))!.value)).toEqual(Buffer.from(raw));
      expect((await s.get(p + "empty"))!.value.length).toBe(0);
    });

    it("returns previous values on put and delete when asked", async () => {
      const s = t.store();
      const p = uniquePrefix("prev");
      const first = await s.put(p + "k", "v1", { prevKv: true });
      expect(first.prevKv).toBeUndefined();
      const second = await s.put(p + "k", "v2", { prevKv: true });
      expect(second.prevKv).toMatchObject({
        key: p + "k",
        version: 1,
        modRevision: first.revision,
      });
      expect(utf8(second.prevKv!.value)).toBe("v1");
      await s.put(p + "l", "w");
      const del = await s.delete({ prefix: p }, { prevKv: true });
      expect(del.deleted).toBe(2);
      expect(del.prevKvs.map((kv) => [kv.key, utf8(kv.value)])).toEqual([
        [p + "k", "v2"],
        [p + "l", "w"],
      ]);
      const none = await s.delete({ prefix: p }, { prevKv: true });
      expect(none).toMatchObject({ deleted: 0, prevKvs: [] });
    });

    it("deletes a range as one revision", async () => {
      const s = t.store();
      const p = uniquePrefix("rdel");
      for (const k of ["a", "b", "c", "d"]) await s.put(p + k, k);
      const d = await s.delete({ key: p + "b", end: p + "d" });
      expect(d.deleted).toBe(2);
      expect((await s.status()).revision).toBe(d.revision);
      const left = await s.range({ prefix: p });
      expect(left.kvs.map((kv) => kv.key)).toEqual([p + "a", p + "d"]);
    });
  });

  describe("range", () => {
    it("orders keys by their UTF-8 bytes and honours prefix, [key, end) and fromKey", async () => {
      const s = t.store();
      const p = uniquePrefix("order");
      const keys = ["b", "a", "a/", "a0", "é", "z", "aa", "A"];
      for (const k of keys) await s.put(p + k, k);
      const all = await s.range({ prefix: p });
      const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(all.kvs.map((kv) => kv.key.slice(p.length))).toEqual(expected);
      expect(all.count).toBe(keys.length);
      expect(all.more).toBe(false);

      const sub = await s.range({ prefix: p + "a" });
      expect(sub.kvs.map((kv) => kv.key.slice(p.length))).toEqual(["a", "a/", "a0", "aa"]);

      const between = await s.range({ key: p + "a0", end: p + "z" });
      expect(between.kvs.map((kv) => kv.key.slice(p.length))).toEqual(["a0", "aa", "b"]);

      const from = await s.range({ fromKey: p + "z" }, { limit: 2 });
      expect(from.kvs[0]?.key).toBe(p + "z");
      expect(from.kvs.map((kv) => kv.key)).toEqual([p + "z", p + "é"]);

      const one = await s.range(p + "a/");
      expect(one.kvs.map((kv) => kv.key)).toEqual([p + "a/"]);
    });

    it("limits, counts, and returns keys only or a count only", async () => {
      const s = t.store();
      const p = uniquePrefix("limit");
      for (let i = 0; i < 10; i++) await s.put(`${p}${i}`, `value-${i}`);
      const page = await s.range({ prefix: p }, { limit: 3 });
      expect(page.kvs.map((kv) => kv.key)).toEqual([`${p}0`, `${p}1`, `${p}2`]);
      expect(page.count).toBe(10);
      expect(page.more).toBe(true);
      const exact = await s.range({ prefix: p }, { limit: 10 });
      expect(exact.more).toBe(false);

      const keysOnly = await s.range({ prefix: p }, { keysOnly: true });
      expect(keysOnly.kvs).toHaveLength(10);
      expect(keysOnly.kvs.every((kv) => kv.value.length === 0 && kv.version === 1)).toBe(true);

      const countOnly = await s.range({ prefix: p }, { countOnly: true });
      expect(countOnly.count).toBe(10);
      expect(countOnly.kvs).toEqual([]);
    });

    it("reads as of a past revision", async () => {
      const s = t.store();
      const p = uniquePrefix("past");
      const r1 = (await s.put(p + "k", "v1")).revision;
      const r2 = (await s.put(p + "k", "v2")).revision;
      await s.put(p + "other", "o");
      const r4 = (await s.delete(p + "k")).revision;

      const at1 = await s.get(p + "k", { revision: r1 });
      expect(utf8(at1!.value)).toBe("v1");
      expect(at1).toMatchObject({ version: 1, modRevision: r1 });
      const at2 = await s.range({ prefix: p }, { revision: r2 });
      expect(at2.kvs.map((kv) => [kv.key, utf8(kv.value)])).toEqual([[p + "k", "v2"]]);
      expect(at2.revision).toBe(r2);
      expect(await s.get(p + "k", { revision: r4 })).toBeUndefined();
      const now = await s.range({ prefix: p });
      expect(now.kvs.map((kv) => kv.key)).toEqual([p + "other"]);
    });

    it("refuses a revision in the future", async () => {
      const s = t.store();
      const { revision } = await s.status();
      const err = await rejection(s.range({ prefix: "conf/" }, { revision: revision + 1000 }));
      expect(err).toBeInstanceOf(FutureRevisionError);
      expect((err as FutureRevisionError).code).toBe("future_revision");
    });
  });
}
