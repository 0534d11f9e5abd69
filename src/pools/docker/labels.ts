import type { MachineState, NodeSpec, PoolNode } from "../provider.js";

/**
 * The labels on a node's container are the only truth about it (docs/pools.md, "The docker
 * provider"): `list` and `describe` filter by them, and a container without all of them is not a
 * node. `gantry.instance` holds the node's number on the address plan here; the docker driver's
 * instance containers use the same key for an instance id, so node queries always also require
 * `gantry.pool` and `gantry.node`.
 */
export const LABEL = {
  pool: "gantry.pool",
  node: "gantry.node",
  instance: "gantry.instance",
  address: "gantry.address",
  createdAt: "gantry.created-at",
} as const;

/** The container's name: the engine refuses a second one, which makes a node name taken or not. */
export const containerName = (node: string): string => `gantry-node-${node}`;

/** The labels of a new node's container. */
export function nodeLabels(spec: NodeSpec, createdAt: string): Record<string, string> {
  return {
    [LABEL.pool]: spec.pool,
    [LABEL.node]: spec.name,
    [LABEL.instance]: String(spec.instance),
    [LABEL.address]: spec.address,
    [LABEL.createdAt]: createdAt,
  };
}

/** Engine list filters for a pool's node containers, or one node's. */
export const poolFilter = (pool: string): string[] => [`${LABEL.pool}=${pool}`, LABEL.node];
export const nodeFilter = (name: string): string[] => [LABEL.pool, `${LABEL.node}=${name}`];

/** What the engine says of a container (`GET /containers/json`). */
export interface ContainerSummary {
  Id: string;
  State: string;
  Labels?: Record<string, string> | null;
}

/**
 * The node a container is, from its labels and state, or undefined when its labels do not make
 * one. Only `running` runs: a container created and never started (a server that died while
 * making it), exited, dead or paused is `stopped`, listed until it is destroyed.
 */
export function nodeOf(c: ContainerSummary): PoolNode | undefined {
  const l = c.Labels ?? {};
  const [pool, name, instance, address, createdAt] = [
    l[LABEL.pool],
    l[LABEL.node],
    l[LABEL.instance],
    l[LABEL.address],
    l[LABEL.createdAt],
  ];
  if (!pool || !name || !address || !createdAt || !/^\d{1,3}$/.test(instance ?? ""))
    return undefined;
  if (Number.isNaN(Date.parse(createdAt))) return undefined;
  const state: MachineState = c.State === "running" ? "running" : "stopped";
  return { name, pool, instance: Number(instance), address, state, providerId: c.Id, createdAt };
}
