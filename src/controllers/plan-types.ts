/** The deploy planner's input and output (deploy-plan.ts), and the numbers it works by. */
import type { App, Assignment, Deploy, InstanceStatus, Release, Scale } from "../model/app.js";
import type { HealthStatus } from "../model/service.js";
import type { NodeInfo, Placed } from "../scheduler/place.js";

/** A record and the modRevision it was read at. */
export interface Versioned<T> {
  value: T;
  modRevision: number;
}

/** A web instance as the catalog sees it. */
export interface InstanceHealth {
  status: HealthStatus;
  /** The failing check's output, for the reason of a failed deploy. */
  output: string;
}

export interface DeploySnapshot {
  now: number;
  app: Versioned<App> | undefined;
  /** The app's releases, any order. */
  releases: Versioned<Release>[];
  deploy: Versioned<Deploy> | undefined;
  /** The last change of the formation (`ps:scale`), while it runs and after. */
  scale?: Versioned<Scale>;
  /** The app's assignments (every node). */
  assignments: Versioned<Assignment>[];
  /** What the agents report, by instance id. */
  instances: ReadonlyMap<string, InstanceStatus>;
  /** Catalog health of the app's web instances, by instance id. */
  health: ReadonlyMap<string, InstanceHealth>;
  /** Live nodes. */
  nodes: readonly string[];
  /**
   * Nodes that hold assignments but are not live, with when the controller first saw them
   * gone (ms). Their instances are lost, and replaced, NODE_LOST_MS after that.
   */
  downSince: ReadonlyMap<string, number>;
  /** Nodes being drained: no new instances go there, and theirs move elsewhere first. */
  draining: ReadonlySet<string>;
  /** Other apps' running instances, so new ones spread over the least busy nodes. */
  others: readonly Placed[];
  /**
   * Live nodes' labels and capacity, for constraints and reservations (docs/scheduler.md);
   * a node missing here has no labels and unknown (unlimited) capacity.
   */
  nodeInfo?: ReadonlyMap<string, NodeInfo>;
}

export interface PlanOptions {
  /** A fresh suffix for assignment ids (4 random characters in production). */
  suffix: () => string;
  /**
   * How long a node may be gone before its instances count as lost (ms; default NODE_LOST_MS;
   * `gantry server --node-grace`).
   */
  nodeGraceMs?: number;
}

export interface Transition {
  /** What it does, for logs and tests. */
  summary: string;
  /** Records to write; `expect` is the modRevision the key must still have (0: absent). */
  puts: { key: string; value: unknown; expect: number }[];
  /**
   * Keys to delete; `expect` as for puts, or absent for records the agents own (instances,
   * catalog entries). With `prefix`, every key under it (never with `expect`).
   */
  deletes: { key: string; expect?: number; prefix?: boolean }[];
  /** Records only read whose change must void the plan. */
  guards: { key: string; modRevision: number }[];
  /** Lines for the app's log (source `deploy`). */
  events: string[];
}

export interface Plan {
  transition?: Transition;
  /** With no transition: when time alone may change the answer (a deadline, a drain). */
  wakeAt?: number;
}

/**
 * A new instance that crashes this many times fails its deploy at once; before, the agent
 * restarts it (after 1 s) and the deploy waits, saying so: a crash that was not the app's fault
 * (a port taken in between) does not fail a deploy, an app that cannot start says so in seconds.
 */
export const CRASHES_TO_FAIL = 2;
/** A non-web instance must stay up this long to count as started. */
export const MIN_RUNNING_MS = 1000;
/** A finished one-off's assignment is removed this long after it ended. */
export const ONEOFF_KEEP_MS = 60_000;
/**
 * How long a node may be gone (its heartbeat lease expired: 3 s of silence by default) before
 * its instances count as lost and are started again elsewhere — the default of
 * `gantry server --node-grace`. An agent restarting, or rejoining after a blip, is back within
 * it: lease and grace together forgive 6 s of silence. Lease expiry plus this plus an
 * instance's start keep a dead node's instances running again elsewhere within 10 s.
 */
export const NODE_LOST_MS = 3_000;
/** The deploy log keeps this many lines (the schema's bound). */
export const MAX_LOG = 200;
/**
 * Most instances one transition starts, drains or deletes: a store transaction holds at most
 * 128 operations (etcd's default). Drains and deletes beyond it follow in the next transitions.
 */
export const MAX_BATCH = 100;
/** Lost instances replaced or forgotten in one transition (each is five operations). */
export const LOST_BATCH = 20;

export type VA = Versioned<Assignment>;
