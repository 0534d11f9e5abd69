import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteStore } from "../store/sqlite/index.js";
import type { KeyRange, Store, WatchOptions } from "../store/index.js";
import { AssignmentFeed } from "./assignment-feed.js";

let dir: string;
let real: Store;
let store: Store;
let watches: number;
let closing: AbortController;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gantry-assignment-feed-"));
  real = await openSqliteStore({ dir, durability: "process" });
  watches = 0;
  closing = new AbortController();
  // The real store, counting the watches it is asked for.
  store = Object.assign(Object.create(real) as Store, {
    watch: (r: KeyRange, o?: WatchOptions) => {
      watches++;
      return real.watch(r, o);
    },
  });
});

afterEach(async () => {
  closing.abort();
  await real.close();
  rmSync(dir, { recursive: true, force: true });
});

const tick = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms));
const put = async (node: string, id: string): Promise<number> =>
  (await store.put(`assignments/${node}/${id}`, "{}")).revision;

/** Start a wait; `done()` tells whether it has answered. */
function waiter(feed: AssignmentFeed, node: string, index: number, waitMs = 60_000) {
  let answered = false;
  const stop = new AbortController();
  const p = feed.wait(node, index, waitMs, stop.signal).then(() => (answered = true));
  return { done: () => answered, p, stop };
}

describe("AssignmentFeed", () => {
  it("holds many nodes' waiters on one store watch; a change wakes only its node's", async () => {
    const feed = new AssignmentFeed(store, closing.signal);
    await feed.start();
    const rev = (await store.status()).revision;
    const ws = Array.from({ length: 200 }, (_, i) => waiter(feed, `n${i % 100}`, rev));
    await tick();
    expect(watches).toBe(1);
    expect(feed.waiting).toBe(200);
    await put("n7", "a");
    await ws[7]!.p;
    await ws[107]!.p;
    await tick();
    expect(ws.filter((w) => w.done()).length).toBe(2);
    expect(feed.waiting).toBe(198);
    // A node whose name is a prefix of another's is not woken by it.
    await put("n10", "b");
    await ws[10]!.p;
    await tick();
    expect(ws[1]!.done()).toBe(false);
    expect(watches).toBe(1);
    for (const w of ws) w.stop.abort();
    await Promise.all(ws.map((w) => w.p));
    expect(feed.waiting).toBe(0);
  });

  it("answers at once for a change after the index that already happened (in the feed or before it)", async () => {
    const before = await put("a", "1"); // before the feed: the store's path answers it
    const feed = new AssignmentFeed(store, closing.signal);
    await feed.start();
    expect(feed.startRevision).toBe(before + 1);
    const old = waiter(feed, "a", before - 1);
    await old.p;
    expect(watches).toBe(2); // the feed's and the fallback's own
    const inFeed = await put("b", "1");
    const seen = waiter(feed, "b", inFeed - 1);
    await seen.p;
    // Not yet changed after the index: it waits, then the next change of its node wakes it.
    const later = waiter(feed, "a", before);
    const other = waiter(feed, "b", inFeed);
    await tick();
    expect(later.done()).toBe(false);
    await put("a", "2");
    await later.p;
    await tick();
    expect(other.done()).toBe(false);
    other.stop.abort();
    await other.p;
  });

  it("an old index that missed nothing waits exactly as the store path does", async () => {
    const r1 = await put("a", "1");
    await put("b", "1");
    const feed = new AssignmentFeed(store, closing.signal);
    await feed.start();
    // index r1 is older than the feed, but "a" has not changed since: it must wait.
    const w = waiter(feed, "a", r1);
    await tick(80);
    expect(w.done()).toBe(false);
    await put("a", "2");
    await w.p;
  });

  it("answers after wait, and everyone when the server closes", async () => {
    const feed = new AssignmentFeed(store, closing.signal);
    await feed.start();
    const rev = (await store.status()).revision;
    const t0 = Date.now();
    await waiter(feed, "a", rev, 100).p;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    const w = waiter(feed, "b", rev);
    await tick();
    closing.abort();
    await w.p;
    expect(feed.waiting).toBe(0);
  });
});
