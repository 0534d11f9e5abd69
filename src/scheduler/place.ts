/**
 * Placement: which node each new instance goes to. Pure — the caller reads the nodes and the
 * assignments that stay, and writes the result — so it is tested without a store.
 *
 * Spread, in order of preference: the node with the fewest instances of this app, then the
 * fewest instances overall, then the name (so the answer is deterministic). Constraints (node
 * labels), CPU and memory reservations, location spread and sampling on large clusters:
 * sample.ts (docs/scheduler.md).
 */
import { Cluster } from "./cluster.js";
import type { Demand, NodeInfo, Placed } from "./demand.js";
import { placeMany, type Placement } from "./sample.js";

export type { Constraint, Demand, NodeInfo, Placed } from "./demand.js";

export interface PlacementRequest {
  /** Live nodes to choose from: names, or names with labels and capacity. */
  nodes: readonly (string | NodeInfo)[];
  app: string;
  /** How many new instances to place. */
  count: number;
  /** Instances that keep running on the nodes (of every app). */
  existing: readonly Placed[];
  /** What each instance asks for (default: nothing reserved, no constraint). */
  demand?: Omit<Demand, "app">;
  seed?: number;
}

/** One node name per new instance, in order; fewer when the rest fit nowhere (placeWhy says why). */
export function place(req: PlacementRequest): string[] {
  return placeWhy(req).nodes;
}

/** As place, with why the rest could not be placed. */
export function placeWhy(req: PlacementRequest): Placement {
  const cluster = new Cluster(
    req.nodes.map((n) => (typeof n === "string" ? { name: n } : n)),
    req.existing,
  );
  const demand: Demand = {
    app: req.app,
    cpu: req.demand?.cpu ?? 0,
    memoryMb: req.demand?.memoryMb ?? 0,
    constraints: req.demand?.constraints ?? [],
    ...(req.demand?.spread === undefined ? {} : { spread: req.demand.spread }),
  };
  return placeMany(cluster, demand, req.count, req.seed === undefined ? {} : { seed: req.seed });
}
