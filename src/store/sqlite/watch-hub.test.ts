import { afterEach, describe, expect, it } from "vitest";
import { UnavailableError } from "../errors.js";
import { toByteRange } from "../keys.js";
import type { Store, TxnOp, WatchEvent } from "../types.js";
import { openSqliteStore } from "./index.js";
import { tempDirs } from "./test-dirs.js";
import { MAX_WATCH_BACKLOG, WatchHub } from "./watch-hub.js";
import { hubEvent, tombstoneKv } from "./rows.js";
import type { Statements } from "./statements.js";

const dirs = tempDirs();
const open: Store[] = [];

async function fresh(): Promise<Store> {
  const s = await openSqliteStore({ dir: dirs.make("watch"), durability: "process" });
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  dirs.cleanup();
});

describe("watch replay", () => {
  it("pages through long history without splitting a revision, then goes live", async () => {
    const s = await fresh();
    const start = (await s.status()).revision + 1;
    for (let i = 0; i < 990; i++) await s.put(`w/${String(i).padStart(4, "0")}`, "x");
    // 128 keys at one revision, crossing the replay's 1000-row page boundary.
    const ops: TxnOp[] = Array.from({ length: 128 }, (_, i) => ({
      type: "put",
      key: `w/t${i}`,
      value: "t",
    }));
    const txnRev = (await s.txn({ success: ops })).revision;
    for (let i = 0; i < 500; i++) await s.put(`w/late/${i}`, "y");
    const watch = s.watch({ prefix: "w/" }, { startRevision: start, prevKv: true });
    const batches: WatchEvent[][] = [];
    let seen = 0;
    let liveRev = 0;
    for await (const batch of watch) {
      batches.push(batch);
      seen += batch.length;
      // A slow consumer: replay waits for it instead of queueing everything.
      await new Promise((r) => setImmediate(r));
      if (seen === 990 + 128 + 500 && liveRev === 0)
        liveRev = (await s.put("w/live", "z")).revision;
      if (seen === 990 + 128 + 500 + 1) break;
    }
    const revs = batches.flat().map((e) => e.kv.modRevision);
    expect(revs).toEqual([...revs].sort((a, b) => a - b));
    expect(revs.at(-1)).toBe(liveRev);
    const txnBatches = batches.filter((b) => b.some((e) => e.kv.modRevision === txnRev));
    expect(txnBatches).toHaveLength(1);
    expect(txnBatches[0]!.filter((e) => e.kv.modRevision === txnRev)).toHaveLength(128);
    expect(batches.length).toBeGreaterThan(1);
  });

  it("sees deletes at the compact revision and their previous values", async () => {
    const s = await fresh();
    await s.put("c/k", "v1");
    const del = (await s.delete("c/k")).revision;
    await s.compact(del);
    const watch = s.watch({ prefix: "c/" }, { startRevision: del, prevKv: true });
    for await (const batch of watch) {
      expect(batch.map((e) => [e.type, e.kv.modRevision])).toEqual([["delete", del]]);
      expect(Buffer.from(batch[0]!.prevKv!.value).toString()).toBe("v1");
      break;
    }
  });

  it("ends watches on close after delivering what was already queued", async () => {
    const s = await openSqliteStore({ dir: dirs.make("closing") });
    const watch = s.watch({ prefix: "" });
    await s.put("a", "1");
    await s.close();
    const got: string[] = [];
    for await (const batch of watch) for (const e of batch) got.push(e.kv.key);
    expect(got).toEqual(["a"]);
  });
});

describe("compaction", () => {
  it("removes superseded rows and old tombstones from the log", async () => {
    const s = await fresh();
    for (let i = 0; i < 20; i++) await s.put("k", String(i));
    await s.put("gone", "x");
    await s.delete("gone");
    const last = (await s.put("k", "last")).revision;
    const db = (s as unknown as { lock: { db: import("better-sqlite3").Database } }).lock.db;
    const rows = (): number => db.prepare("SELECT COUNT(*) FROM log").pluck().get() as number;
    expect(rows()).toBe(23);
    await s.compact(last);
    // What is left: the row at the compact revision and the one before it (its prevKv).
    expect(rows()).toBe(2);
    expect(Buffer.from((await s.get("k", { revision: last }))!.value).toString()).toBe("last");
  });
});

describe("slow watchers", () => {
  it("fails a watcher whose backlog exceeds the bound, and stops feeding it", async () => {
    // Drive the hub directly: 100,000 real writes would only make this test slow.
    const st = {} as Statements;
    const revs = { rev: 1, compactRev: 0 };
    const hub = new WatchHub(st, revs, () => false);
    const watch = hub.watch(toByteRange({ prefix: "" }), 0, false);
    const key = Buffer.from("k");
    const events = Array.from({ length: MAX_WATCH_BACKLOG / 2 }, (_, i) =>
      hubEvent("delete", 2 + i, key, tombstoneKv("k", 2 + i), undefined),
    );
    hub.dispatch(events);
    hub.dispatch(events);
    expect(hub.active).toBe(true);
    hub.dispatch(events.slice(0, 1));
    expect(hub.active).toBe(false);
    let delivered = 0;
    const err = await (async () => {
      try {
        for await (const batch of watch) delivered += batch.length;
      } catch (e) {
        return e;
      }
    })();
    expect(delivered).toBe(MAX_WATCH_BACKLOG + 1);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/fell more than 100000 events behind/);
  });
});
