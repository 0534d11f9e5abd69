import { afterEach, describe, expect, it } from "vitest";
import { ValidationError } from "../../errors.js";
import { LeaseNotFoundError, UnavailableError } from "../errors.js";
import type { Store } from "../types.js";
import { openSqliteStore } from "./index.js";
import { tempDirs } from "./test-dirs.js";

const dirs = tempDirs();
const open: Store[] = [];

async function fresh(): Promise<Store> {
  const s = await openSqliteStore({ dir: dirs.make("group") });
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  dirs.cleanup();
});

/** The better-sqlite3 handle behind a store, for tests that must break the disk on purpose. */
function dbOf(s: Store): import("better-sqlite3").Database {
  return (s as unknown as { lock: { db: import("better-sqlite3").Database } }).lock.db;
}

describe("group commit", () => {
  it("gives writes of one tick consecutive revisions in arrival order", async () => {
    const s = await fresh();
    const base = (await s.status()).revision;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => s.put(`k/${i}`, String(i))),
    );
    expect(results.map((r) => r.revision)).toEqual(
      Array.from({ length: 50 }, (_, i) => base + 1 + i),
    );
  });

  it("fails only the write that is refused, and it takes no revision", async () => {
    const s = await fresh();
    const base = (await s.status()).revision;
    const lease = await s.grantLease(60);
    const settled = await Promise.allSettled([
      s.put("a", "1"),
      s.put("b", "2", { lease: "424242" }),
      // A txn refused for a missing lease writes none of its puts, even the ones without one.
      s.txn({
        success: [
          { type: "put", key: "c", value: "3" },
          { type: "put", key: "d", value: "4", lease: "424242" },
        ],
      }),
      s.revokeLease(lease.id),
      s.put("e", "5", { lease: lease.id }),
      s.put("f", "6"),
    ]);
    expect(settled.map((r) => r.status)).toEqual([
      "fulfilled",
      "rejected",
      "rejected",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    for (const i of [1, 2, 4]) {
      expect((settled[i] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseNotFoundError);
    }
    expect((settled[0] as PromiseFulfilledResult<{ revision: number }>).value.revision).toBe(
      base + 1,
    );
    expect((settled[5] as PromiseFulfilledResult<{ revision: number }>).value.revision).toBe(
      base + 2,
    );
    const keys = (await s.range({ prefix: "" })).kvs.map((kv) => kv.key);
    expect(keys).toEqual(["a", "f"]);
  });

  it("refuses bad arguments before queueing, so the rest of the tick commits", async () => {
    const s = await fresh();
    const settled = await Promise.allSettled([
      s.put("ok", "1"),
      s.txn({
        success: [
          { type: "put", key: "x/1", value: "1" },
          { type: "delete", range: { prefix: "x/" } },
        ],
      }),
      s.put("", "empty key"),
      s.put("ok2", "2"),
    ]);
    expect(settled.map((r) => r.status)).toEqual([
      "fulfilled",
      "rejected",
      "rejected",
      "fulfilled",
    ]);
    const dup = (settled[1] as PromiseRejectedResult).reason as ValidationError;
    expect(dup).toBeInstanceOf(ValidationError);
    expect(dup.field).toBe("success");
    expect((await s.range({ prefix: "" })).kvs.map((kv) => kv.key)).toEqual(["ok", "ok2"]);
  });

  it("rolls a whole group back when the disk refuses the transaction, and recovers", async () => {
    const s = await fresh();
    await s.put("before", "1");
    const before = await s.status();
    const db = dbOf(s);
    const pages = db.pragma("page_count", { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 2}`);
    const settled = await Promise.allSettled([
      s.grantLease(60),
      s.put("small", "x"),
      s.put("big", Buffer.alloc(512 * 1024, 1)),
    ]);
    expect(settled.every((r) => r.status === "rejected")).toBe(true);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(UnavailableError);
    expect(await s.status()).toEqual(before);
    expect(await s.leases()).toEqual([]);
    expect(await s.get("small")).toBeUndefined();

    db.pragma("max_page_count = 1073741823");
    const after = await s.put("small", "x");
    expect(after.revision).toBe(before.revision + 1);
    expect((await s.grantLease(5)).id).toMatch(/^[1-9][0-9]*$/);
  });

  it("commits writes still queued when the store closes", async () => {
    const dir = dirs.make("close");
    const s = await openSqliteStore({ dir });
    const pending = s.put("late", "v");
    await s.close();
    expect((await pending).revision).toBeGreaterThan(1);
    const again = await openSqliteStore({ dir });
    open.push(again);
    expect(Buffer.from((await again.get("late"))!.value).toString()).toBe("v");
  });
});
