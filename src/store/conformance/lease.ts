import { describe, expect, it } from "vitest";
import { LeaseNotFoundError } from "../errors.js";
import { collect, eventually, rejection, sleep, uniquePrefix } from "./helpers.js";
import type { ConformanceTarget } from "./target.js";

export function leaseTests(t: ConformanceTarget): void {
  describe("leases", () => {
    it("grants, lists and reports time to live with attached keys", async () => {
      const s = t.store();
      const p = uniquePrefix("lease");
      const lease = await s.grantLease(60);
      expect(lease.ttl).toBe(60);
      expect(lease.id).toMatch(/^[1-9][0-9]*$/);
      await s.put(p + "a", "1", { lease: lease.id });
      await s.put(p + "b", "2", { lease: lease.id });
      expect((await s.get(p + "a"))!.lease).toBe(lease.id);
      const info = await s.leaseTimeToLive(lease.id, { keys: true });
      expect(info.id).toBe(lease.id);
      expect(info.grantedTtl).toBe(60);
      expect(info.ttl).toBeGreaterThan(55);
      expect(info.ttl).toBeLessThanOrEqual(60);
      expect([...info.keys].sort()).toEqual([p + "a", p + "b"]);
      expect(await s.leases()).toContain(lease.id);
      await s.revokeLease(lease.id);
      expect(await s.leases()).not.toContain(lease.id);
    });

    it("revoking a lease deletes its keys in one revision and watchers see the deletes", async () => {
      const s = t.store();
      const p = uniquePrefix("revoke");
      const lease = await s.grantLease(60);
      await s.put(p + "a", "1", { lease: lease.id });
      await s.put(p + "b", "2", { lease: lease.id });
      await s.put(p + "keep", "3");
      const watch = s.watch({ prefix: p });
      await sleep(50);
      await s.revokeLease(lease.id);
      const { events, batches } = await collect(watch, 2);
      watch.cancel();
      expect(events.map((e) => [e.type, e.kv.key])).toEqual([
        ["delete", p + "a"],
        ["delete", p + "b"],
      ]);
      expect(batches[0]).toHaveLength(2);
      expect(events[0]!.kv.modRevision).toBe(events[1]!.kv.modRevision);
      expect((await s.range({ prefix: p })).kvs.map((kv) => kv.key)).toEqual([p + "keep"]);
    });

    it("expires a lease without keep-alive; keep-alive holds it", async () => {
      const s = t.store();
      const p = uniquePrefix("expire");
      const held = await s.grantLease(2);
      const dropped = await s.grantLease(2);
      await s.put(p + "held", "h", { lease: held.id });
      await s.put(p + "dropped", "d", { lease: dropped.id });
      const watch = s.watch({ prefix: p });
      const deleted = collect(watch, 1, 15_000);

      // Keep one lease alive well past its TTL while the other runs out.
      const start = Date.now();
      while (Date.now() - start < 4_000) {
        expect(await s.keepAlive(held.id)).toBe(2);
        await sleep(400);
      }
      const { events } = await deleted;
      expect(events[0]).toMatchObject({ type: "delete", kv: { key: p + "dropped" } });
      expect(await s.get(p + "dropped")).toBeUndefined();
      expect(await s.get(p + "held")).toBeDefined();
      await expect(s.keepAlive(dropped.id)).rejects.toBeInstanceOf(LeaseNotFoundError);

      // Stop refreshing: the held lease runs out too.
      const gone = await eventually(
        async () => (await s.get(p + "held")) === undefined,
        8_000,
        100,
      );
      expect(gone).toBe(true);
      expect(await s.leases()).not.toContain(held.id);
    });

    it("answers LeaseNotFoundError for unknown or revoked leases", async () => {
      const s = t.store();
      const p = uniquePrefix("nolease");
      const lease = await s.grantLease(30);
      await s.revokeLease(lease.id);
      const attempts: (() => Promise<unknown>)[] = [
        () => s.keepAlive(lease.id),
        () => s.revokeLease(lease.id),
        () => s.leaseTimeToLive(lease.id),
        () => s.put(p + "k", "v", { lease: lease.id }),
        () => s.put(p + "k", "v", { lease: "987654321" }),
      ];
      for (const attempt of attempts) {
        const err = await rejection(attempt());
        expect(err).toBeInstanceOf(LeaseNotFoundError);
        expect((err as LeaseNotFoundError).code).toBe("lease_not_found");
      }
      expect(await s.get(p + "k")).toBeUndefined();
    });
  });
}
