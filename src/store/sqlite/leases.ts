import { LeaseNotFoundError } from "../errors.js";
import type { LeaseId, LeaseInfo } from "../types.js";

/** One live lease: persisted as (id, ttl); the deadline and attached keys live in memory. */
export interface Lease {
  id: LeaseId;
  num: number;
  ttl: number;
  /** performance.now() milliseconds. */
  deadline: number;
  keys: Set<string>;
  /** Its expiry is queued; it can no longer be kept alive or written to. */
  expiring: boolean;
}

// setTimeout fires at once for delays above 2^31-1 ms; longer waits re-arm when they fire.
const MAX_TIMER_DELAY = 2_147_483_647;

/**
 * The lease table and its expiry clock. One timer tracks the earliest deadline; keep-alives only
 * push deadlines later, so they never re-arm it, and a timer that fires early simply re-arms.
 * Expired leases are handed to `onExpired`, which revokes them through the write queue.
 */
export class LeaseTable {
  private readonly byId = new Map<LeaseId, Lease>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private stopped = false;
  /** The next lease number to grant; persisted so ids are never reused. */
  nextNum = 1;

  constructor(
    private readonly onExpired: (ids: LeaseId[]) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Replace the table from the database. Leases already known keep their deadline; others get a
   * full TTL, as etcd gives every lease after a leader change, so clients can keep them alive.
   */
  load(leases: { id: number; ttl: number }[], attachments: { key: Buffer; lease: number }[]): void {
    const old = new Map(this.byId);
    this.byId.clear();
    const now = this.now();
    for (const row of leases) {
      const id = String(row.id);
      const prev = old.get(id);
      this.byId.set(id, {
        id,
        num: row.id,
        ttl: row.ttl,
        deadline: prev?.deadline ?? now + row.ttl * 1000,
        keys: new Set(),
        // A queued expiry that was rolled back must be queued again: the timer will see to it.
        expiring: false,
      });
    }
    for (const a of attachments) this.byId.get(String(a.lease))?.keys.add(a.key.toString("utf8"));
    this.rearm();
  }

  get(id: LeaseId): Lease | undefined {
    return this.byId.get(id);
  }

  /** A lease that can still be used, or LeaseNotFoundError. */
  live(id: LeaseId): Lease {
    const lease = this.byId.get(id);
    if (lease === undefined || lease.expiring || lease.deadline <= this.now()) {
      throw new LeaseNotFoundError(id);
    }
    return lease;
  }

  /** Add a newly granted lease (the caller persists it). */
  add(num: number, ttl: number): Lease {
    const lease: Lease = {
      id: String(num),
      num,
      ttl,
      deadline: this.now() + ttl * 1000,
      keys: new Set(),
      expiring: false,
    };
    this.byId.set(lease.id, lease);
    if (lease.deadline < this.timerAt) this.arm(lease.deadline);
    return lease;
  }

  remove(id: LeaseId): void {
    this.byId.delete(id);
  }

  attach(lease: number, key: string): void {
    this.byId.get(String(lease))?.keys.add(key);
  }

  detach(lease: number, key: string): void {
    this.byId.get(String(lease))?.keys.delete(key);
  }

  /** Refresh to the full TTL; returns it. */
  keepAlive(id: LeaseId): number {
    const lease = this.live(id);
    lease.deadline = this.now() + lease.ttl * 1000;
    return lease.ttl;
  }

  timeToLive(id: LeaseId, withKeys: boolean): LeaseInfo {
    const lease = this.live(id);
    return {
      id,
      ttl: Math.max(0, Math.ceil((lease.deadline - this.now()) / 1000)),
      grantedTtl: lease.ttl,
      keys: withKeys ? [...lease.keys].sort() : [],
    };
  }

  ids(): LeaseId[] {
    const ids: LeaseId[] = [];
    for (const lease of this.byId.values()) if (!lease.expiring) ids.push(lease.id);
    return ids;
  }

  /** Stop the clock for good (the store is closing). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    const expired: LeaseId[] = [];
    for (const lease of this.byId.values()) {
      if (!lease.expiring && lease.deadline <= now) {
        lease.expiring = true;
        expired.push(lease.id);
      }
    }
    this.rearm();
    if (expired.length > 0) this.onExpired(expired);
  };

  private rearm(): void {
    let earliest = Infinity;
    for (const lease of this.byId.values()) {
      if (!lease.expiring && lease.deadline < earliest) earliest = lease.deadline;
    }
    if (earliest !== this.timerAt) this.arm(earliest);
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === Infinity || this.stopped) return;
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, Math.ceil(at - this.now())));
    this.timer = setTimeout(this.fire, delay);
  }
}
