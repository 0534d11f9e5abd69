import * as z from "zod";
import { parseDuration } from "./duration.js";
import { NodeNameSchema } from "./node.js";

/**
 * Node pools (issue 14, docs/pools.md): what the stack's `pools:` section declares, what the
 * server keeps of it, and what the pool controller reports. The stack writes pools through
 * `PUT /v1/pools/:name`; the controller (leader only) makes machines through a provider until
 * the pool has its size, and writes `pools/status/<name>`.
 */

export const POOL_PROVIDERS = ["local", "docker", "ssh", "exec"] as const;
export type PoolProviderName = (typeof POOL_PROVIDERS)[number];

/** Pool names become node-name prefixes (`web-2`): short host-name parts. */
export const PoolNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,39}$/,
    "must be lower-case letters, digits and - (starting with a letter or digit), at most 40 characters",
  );

const DurationText = (what: string) =>
  z
    .string()
    .refine((s) => parseDuration(s) !== undefined, `${what}: a duration such as 30s, 2m or 1m30s`);

/** `maxUnhealthy`: a percentage of the pool's size ("40%") or a count of nodes (2). */
export const MaxUnhealthySchema = z.union([
  z.int().min(0).max(10_000),
  z.string().regex(/^(100|[1-9]?[0-9])%$/, "a percentage from 0% to 100%, or a count of nodes"),
]);

/** `ssh` pools: existing hosts; Gantry installs, starts and removes the agent over SSH. */
export const SshPoolSchema = z.strictObject({
  user: z.string().min(1).max(64).default("root"),
  port: z.int().min(1).max(65535).default(22),
  /** A private key file on the server's machine (relative: to the server's data dir). */
  identityFile: z.string().min(1).max(4096).optional(),
  /** Extra `-o` options (`StrictHostKeyChecking=accept-new`). */
  options: z.array(z.string().min(1).max(256)).max(32).default([]),
  /** The hosts, in instance order: the n-th host is instance n's machine. */
  hosts: z.array(z.string().min(1).max(253)).min(1).max(254),
});
export type SshPoolSettings = z.infer<typeof SshPoolSchema>;

/**
 * `exec` pools: bring your own cloud. Each command is an argv (no shell) that gets the node as
 * JSON on stdin and prints JSON (docs/pools.md, "The exec provider").
 */
export const ExecPoolSchema = z.strictObject({
  create: z.array(z.string().min(1).max(4096)).min(1).max(64),
  destroy: z.array(z.string().min(1).max(4096)).min(1).max(64),
  list: z.array(z.string().min(1).max(4096)).min(1).max(64),
  /** How long one command may run (default 10m: clouds are slow to boot). */
  timeout: DurationText("exec.timeout").optional(),
});
export type ExecPoolSettings = z.infer<typeof ExecPoolSchema>;

/** `docker` pools: each node a container running the agent. */
export const DockerPoolSchema = z.strictObject({
  /** The node image (a baked one); absent: Gantry's default node image. */
  image: z.string().min(1).max(512).optional(),
  memory: z.string().max(32).optional(),
});
export type DockerPoolSettings = z.infer<typeof DockerPoolSchema>;

/** `pools.<name>` in gantry.yaml, and the body of `PUT /v1/pools/:name`. */
export const PoolSpecSchema = z.strictObject({
  provider: z.enum(POOL_PROVIDERS),
  /** Desired number of nodes. */
  size: z.int().min(0).max(254),
  /** Bounds of `gantry pools:scale` (default: size). */
  min: z.int().min(0).max(254).optional(),
  max: z.int().min(0).max(254).optional(),
  location: z.string().min(1).max(63).optional(),
  type: z.string().min(1).max(63).optional(),
  /** Converge roles, vars and labels of every node of the pool. */
  roles: z.array(z.string().min(1).max(128)).max(64).default([]),
  vars: z.record(z.string(), z.unknown()).default({}),
  labels: z.record(z.string(), z.string()).default({}),
  /** A node down (no heartbeat) this long is destroyed and created again. */
  repairAfter: DurationText("repairAfter").default("60s"),
  /** A node that has not joined this long after its machine started is replaced. */
  startTimeout: DurationText("startTimeout").default("10m"),
  /**
   * How long `gantry apply` waits for the pool's nodes to be ready before the items after it
   * (apps) go on (default: startTimeout; `0s`: do not wait), like an auto-scaling group's
   * wait for capacity.
   */
  waitForReady: DurationText("waitForReady").optional(),
  /** Above this many unhealthy nodes at once the pool stops repairing (a partition, not a death). */
  maxUnhealthy: MaxUnhealthySchema.default("40%"),
  docker: DockerPoolSchema.optional(),
  ssh: SshPoolSchema.optional(),
  exec: ExecPoolSchema.optional(),
});
export type PoolSpec = z.infer<typeof PoolSpecSchema>;

/**
 * `pools/specs/<name>`: the pool as the server keeps it. `addressPattern` is the pool's slice of
 * the address plan with only `{instance}` left (`10.100.6.{instance}`), resolved by the server
 * when the pool or the plan is written; `settingsHash` covers what a node is made from
 * (provider, its settings, the address pattern): when it changes, the nodes are replaced one at
 * a time.
 */
export interface PoolRecord {
  name: string;
  spec: PoolSpec;
  addressPattern: string;
  settingsHash: string;
  /** `gantry pools:scale`: the size asked for by hand; cleared when the stack changes `size`. */
  scaledTo?: number;
  /** `gantry pools:replace`: nodes to replace (rolling), as asked at `requestedAt`. */
  replace?: { nodes: string[]; requestedAt: string };
  /** `DELETE /v1/pools/:name`: the controller drains and destroys the nodes, then the record goes. */
  deletedAt?: string;
  updatedAt: string;
  updatedBy: string;
}

/** The size the controller works toward: `pools:scale`'s, else the stack's. */
export const desiredSize = (r: Pick<PoolRecord, "spec" | "scaledTo">): number =>
  r.scaledTo ?? r.spec.size;

/** `POST /v1/pools/:name/scale` */
export const PoolScaleSchema = z.strictObject({ size: z.int().min(0).max(254) });
/** `POST /v1/pools/:name/replace`: one node, or (absent) every node of the pool. */
export const PoolReplaceSchema = z.strictObject({ node: NodeNameSchema.optional() });

/** One node of a pool as the controller sees it. */
export type PoolNodePhase =
  /** machine created, agent not joined yet */
  | "joining"
  /** joined, converged, taking instances */
  | "ready"
  /** joined once, its agent silent now (lease gone), not yet for repairAfter */
  | "down"
  /** stopped machine, start timeout passed, or down longer than repairAfter */
  | "unhealthy"
  /** being destroyed and created again */
  | "repairing"
  /** scale-down or replacement: instances moving away before it is destroyed */
  | "draining";

export interface PoolNodeStatus {
  name: string;
  instance: number;
  address: string;
  phase: PoolNodePhase;
  /** Why it is not ready (down since…, not joined after…). */
  reason?: string;
  createdAt?: string;
}

/** `pools/status/<name>`: what `gantry pools` shows; written by the pool controller. */
export interface PoolStatus {
  name: string;
  desired: number;
  ready: number;
  joining: number;
  repairing: number;
  unhealthy: number;
  nodes: PoolNodeStatus[];
  /** Set while repairs are held back (above maxUnhealthy) or the pool cannot reach its size. */
  halted?: string;
  /** The last thing the controller did or failed to do, e.g. "created web-2 (10.100.6.2)". */
  lastEvent?: { at: string; message: string; error?: boolean };
  updatedAt: string;
}

/** `GET /v1/pools` and `GET /v1/pools/:name`: the record and its last status. */
export interface PoolView extends PoolRecord {
  status?: PoolStatus;
}
