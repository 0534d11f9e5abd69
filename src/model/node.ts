import * as z from "zod";

/** Node names are host-name-like single path segments. */
export const NodeNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
    "must be letters, digits and _ . - (starting with a letter or digit), at most 63 characters",
  );

/** What an agent tells about its machine when it joins. */
export const NodeFactsSchema = z.strictObject({
  hostname: z.string().max(253),
  cpus: z.int().min(0).max(100_000),
  /** Total memory in bytes. */
  memory: z.int().min(0),
  addresses: z.array(z.string().max(64)).max(64),
  os: z.string().max(64).optional(),
  arch: z.string().max(64).optional(),
});
export type NodeFacts = z.infer<typeof NodeFactsSchema>;

/**
 * Heartbeat TTL bounds in seconds. The default is 3 s (Nomad's is 10 s): agents heartbeat every
 * second, so a node is known dead 2–3 s after it died (docs/ha.md, "Failover"). Not below 2 s:
 * etcd raises a shorter TTL to its minimum, 1.5 × the election timeout (1 s) rounded up = 2 s;
 * and a new etcd leader extends every lease by its election timeout, so a node that dies during
 * an election is known dead after at most TTL + 1 s (+ etcd's 0.5 s expiry check).
 */
export const NODE_TTL = { min: 2, max: 300, default: 3 } as const;

/** PUT /v1/nodes/:name */
export const NodeJoinSchema = z.strictObject({
  facts: NodeFactsSchema,
  ttl: z.int().min(NODE_TTL.min).max(NODE_TTL.max).default(NODE_TTL.default),
});
export type NodeJoin = z.infer<typeof NodeJoinSchema>;

/** What `nodes/<name>` holds; the key lives on the node's lease, so a silent node disappears. */
export interface NodeRecord {
  name: string;
  facts: NodeFacts;
  ttl: number;
  joinedAt: string;
  /** The labels of the join token it joined with (`gantry join-tokens create --labels`). */
  labels?: Record<string, string>;
}

/** A node as the API shows it. */
export interface NodeView extends NodeRecord {
  lease: string;
}

/**
 * `GET /v1/nodes?all`: every live node (ready, or draining) with how many instances it is
 * assigned, and every node that is assigned instances but has no live agent (down: its lease
 * ran out).
 */
export type NodeListEntry =
  | (NodeView & { status: "ready" | "draining"; instances: number })
  | {
      name: string;
      status: "down";
      instances: number;
      draining?: true;
      /** The labels it joined with, kept after it went down (a pool node: `pool`, `address`). */
      labels?: Record<string, string>;
    };

/** `sys/drains/<name>`: the node takes no new instances, and its instances move elsewhere. */
export interface NodeDrain {
  node: string;
  since: string;
  by: string;
}
