/**
 * What the pool controller's planner (pools-plan.ts) reads and returns. The planner is pure: the
 * port (pools.ts) gathers a `PoolWorld` from the store and the pool's provider, and carries out
 * the actions it gets back.
 */
import type { PoolRecord, PoolStatus } from "../model/pool.js";
import type { PoolNode } from "../pools/provider.js";

/**
 * `pools/nodes/<pool>/<node>`: the controller's own record of a node it makes. Written before
 * the provider is asked to create the machine, so a new leader finds a create that was under way.
 */
export interface PoolNodeRecord {
  name: string;
  pool: string;
  instance: number;
  address: string;
  /** The provider that makes it (absent: the pool's). */
  provider?: string;
  /** The pool's settingsHash when the node was made: a different one means a rolling replacement. */
  settingsHash: string;
  /** ISO 8601: when its (latest) create was started. */
  createdAt: string;
  /** ISO 8601: when its agent was first seen joined (after its latest create). */
  joinedAt?: string;
  /** Destroyed to be created again with the same instance number (and so the same address). */
  repairing?: true;
  /** Made ahead of `surgeFor` in a rolling replacement; that node goes once this one is ready. */
  surgeFor?: string;
  /** Leaving the pool (scale-down, replacement, pool deleted): drained, then destroyed. */
  retiring?: { since: string; reason: string };
}

/** The last failed create of a pool, for the backoff (kept by the port, not in the store). */
export interface CreateFailure {
  attempts: number;
  /** ms since the epoch of the last failure. */
  at: number;
  message: string;
}

/** Everything planPool needs about one pool, read at one moment. */
export interface PoolWorld {
  record: PoolRecord;
  /** The provider's machines of this pool (provider.list). */
  machines: readonly PoolNode[];
  /** The controller's records of the pool's nodes (pools/nodes/<pool>/). */
  nodes: readonly PoolNodeRecord[];
  /** Nodes whose agent is joined and alive (`nodes/<name>` exists: its lease holds). */
  live: ReadonlySet<string>;
  /** Nodes that had joined and have no `nodes/<name>` now, and since when (ms). */
  downSince: ReadonlyMap<string, number>;
  /** Nodes with assignments (`assignments/<node>/` not empty). */
  busy: ReadonlySet<string>;
  /** Nodes whose latest converge run since their create succeeded. */
  converged: ReadonlySet<string>;
  /** Nodes the port is creating or destroying right now. */
  inFlight: ReadonlySet<string>;
  failure?: CreateFailure;
  now: number;
}

export interface PlanOptions {
  /** How long a retiring node's instances may take to move away (default 5 min). */
  drainTimeoutMs?: number;
  /** Creates of one pool at once when it grows (default 10). */
  parallelCreates?: number;
}

export type PoolAction =
  | {
      kind: "create";
      node: string;
      instance: number;
      address: string;
      why: "scale up" | "repair" | "surge" | "retry";
      /** A rolling replacement's new node: the old one goes once this one is ready. */
      surgeFor?: string;
    }
  /** Write sys/drains/<node> and mark its record retiring. */
  | { kind: "drain"; node: string; reason: string }
  /**
   * Destroy the machine. `repair`: keep the record (marked repairing) to create it again with
   * the same instance number; otherwise forget the node (record, drain, labels, converge settings).
   */
  | { kind: "destroy"; node: string; repair: boolean; reason: string }
  /** The pool was deleted and has no node left: remove its spec, status and records. */
  | { kind: "deletePool" };

export interface PoolPlan {
  /** Independent actions the port may run at once (never two for one node). */
  actions: PoolAction[];
  /** The pool's status, as of this plan (the port stamps updatedAt and lastEvent). */
  status: Omit<PoolStatus, "updatedAt" | "lastEvent">;
  /** When to look again even without events (ms): a deadline or the end of a backoff. */
  wakeAt?: number;
}
