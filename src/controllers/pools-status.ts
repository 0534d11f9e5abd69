import { K } from "../model/keys.js";
import { desiredSize, type PoolRecord, type PoolStatus } from "../model/pool.js";
import type { Store } from "../store/index.js";

type LastEvent = NonNullable<PoolStatus["lastEvent"]>;

/**
 * The pool controller's `pools/status/<name>` writes: the planner's status with the pool's last
 * event, written only when something in it changed. A new leader starts from the last event the
 * stored status holds.
 */
export class StatusWriter {
  private readonly events = new Map<string, LastEvent>();
  private readonly written = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** The last thing done (or failed) for a pool. */
  event(pool: string, message: string, error = false): void {
    const at = new Date(this.now()).toISOString();
    this.events.set(pool, { at, message, ...(error ? { error: true } : {}) });
  }

  async write(
    pool: string,
    s: Omit<PoolStatus, "updatedAt" | "lastEvent">,
    stored: PoolStatus | undefined,
  ): Promise<void> {
    const lastEvent = this.events.get(pool) ?? stored?.lastEvent;
    const body = { ...s, ...(lastEvent === undefined ? {} : { lastEvent }) };
    const text = JSON.stringify(body);
    if (this.written.get(pool) === text) return;
    const status: PoolStatus = { ...body, updatedAt: new Date(this.now()).toISOString() };
    await this.store.put(K.poolStatus + pool, JSON.stringify(status));
    this.written.set(pool, text);
  }

  /** The pool is gone. */
  forget(pool: string): void {
    this.events.delete(pool);
    this.written.delete(pool);
  }
}

/** The status of a pool whose provider (or an old node's) this server does not have. */
export function noProvider(
  record: PoolRecord,
  missing: readonly string[],
  known: readonly string[],
): Omit<PoolStatus, "updatedAt" | "lastEvent"> {
  return {
    name: record.name,
    desired: record.deletedAt === undefined ? desiredSize(record) : 0,
    ready: 0,
    joining: 0,
    repairing: 0,
    unhealthy: 0,
    nodes: [],
    halted: `no provider ${missing.map((m) => `"${m}"`).join(", ")} on this server (it has: ${known.join(", ") || "none"})`,
  };
}
