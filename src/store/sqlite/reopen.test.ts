import { afterEach, describe, expect, it } from "vitest";
import { ValidationError } from "../../errors.js";
import { CompactedError } from "../errors.js";
import type { Store } from "../types.js";
import { openSqliteStore } from "./index.js";
import { tempDirs } from "./test-dirs.js";

const dirs = tempDirs();
const open = new Set<Store>();

async function openAt(dir: string): Promise<Store> {
  const s = await openSqliteStore({ dir, durability: "process" });
  open.add(s);
  return s;
}

async function closeIt(s: Store): Promise<void> {
  open.delete(s);
  await s.close();
}

afterEach(async () => {
  for (const s of open) await s.close();
  open.clear();
  dirs.cleanup();
});

const text = (v: Uint8Array | undefined): string | undefined =>
  v === undefined ? undefined : Buffer.from(v).toString();

describe("reopening a data directory", () => {
  it("keeps keys, history, the revision and the compact revision", async () => {
    const dir = dirs.make("reopen");
    const a = await openAt(dir);
    const r1 = (await a.put("k", "v1")).revision;
    const r2 = (await a.put("k", "v2")).revision;
    await a.put("gone", "x");
    const r4 = (await a.delete("gone")).revision;
    await a.compact(r2);
    await closeIt(a);

    const b = await openAt(dir);
    expect(await b.status()).toEqual({ backend: "sqlite", revision: r4, compactRevision: r2 });
    expect(await b.get("k")).toMatchObject({ version: 2, createRevision: r1, modRevision: r2 });
    expect(text((await b.get("gone", { revision: r4 - 1 }))?.value)).toBe("x");
    await expect(b.get("k", { revision: r1 })).rejects.toBeInstanceOf(CompactedError);
    // The next write continues the revision sequence.
    expect((await b.put("k", "v3")).revision).toBe(r4 + 1);
  });

  it("keeps leases and keys with a full TTL, and expires them unless kept alive", async () => {
    const dir = dirs.make("leases");
    const a = await openAt(dir);
    const lease = await a.grantLease(1);
    await a.put("held", "h", { lease: lease.id });
    await closeIt(a);
    // Closed for longer than the TTL: after reopening the lease is alive again, in full.
    await new Promise((r) => setTimeout(r, 1100));

    const b = await openAt(dir);
    expect(await b.leases()).toEqual([lease.id]);
    const info = await b.leaseTimeToLive(lease.id, { keys: true });
    expect(info).toMatchObject({ grantedTtl: 1, ttl: 1, keys: ["held"] });
    expect((await b.get("held"))?.lease).toBe(lease.id);
    const deleted = (async () => {
      for await (const batch of b.watch("held")) return batch;
    })();
    const events = await deleted;
    expect(events?.map((e) => [e.type, e.kv.key])).toEqual([["delete", "held"]]);
    expect(await b.leases()).toEqual([]);
  });

  it("never reuses a lease id, even after revoking it and reopening", async () => {
    const dir = dirs.make("ids");
    const a = await openAt(dir);
    const first = await a.grantLease(30);
    const second = await a.grantLease(30);
    await a.revokeLease(second.id);
    await closeIt(a);
    const b = await openAt(dir);
    const third = await b.grantLease(30);
    expect(new Set([first.id, second.id, third.id]).size).toBe(3);
    expect(BigInt(third.id)).toBeGreaterThan(BigInt(second.id));
  });

  it("validates its options", async () => {
    await expect(openSqliteStore({ dir: "" })).rejects.toBeInstanceOf(ValidationError);
    const err = await openSqliteStore({
      dir: dirs.make("opt"),
      durability: "never" as "fsync",
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe("durability");
  });
});
