/**
 * Placement: which node each new instance goes to. Pure — the caller reads the nodes and the
 * assignments that stay, and writes the result — so it is tested without a store.
 *
 * Spread, in order of preference: the node with the fewest instances of this app, then the
 * fewest instances overall, then the name (so the answer is deterministic).
 */

/** An instance that already occupies a node (and stays there). */
export interface Placed {
  node: string;
  app: string;
}

export interface PlacementRequest {
  /** Live nodes to choose from. */
  nodes: readonly string[];
  app: string;
  /** How many new instances to place. */
  count: number;
  /** Instances that keep running on the nodes (of every app). */
  existing: readonly Placed[];
}

/** One node name per new instance, in order; [] when there is no node (the caller says why). */
export function place(req: PlacementRequest): string[] {
  if (req.nodes.length === 0 || req.count <= 0) return [];
  const mine = new Map<string, number>();
  const all = new Map<string, number>();
  for (const n of req.nodes) {
    mine.set(n, 0);
    all.set(n, 0);
  }
  for (const p of req.existing) {
    if (!all.has(p.node)) continue; // on a node that is gone: it does not weigh on live ones
    all.set(p.node, all.get(p.node)! + 1);
    if (p.app === req.app) mine.set(p.node, mine.get(p.node)! + 1);
  }
  const nodes = [...new Set(req.nodes)].sort();
  const out: string[] = [];
  for (let i = 0; i < req.count; i++) {
    let best = nodes[0]!;
    for (const n of nodes) {
      const dm = mine.get(n)! - mine.get(best)!;
      const da = all.get(n)! - all.get(best)!;
      if (dm < 0 || (dm === 0 && da < 0)) best = n;
    }
    out.push(best);
    mine.set(best, mine.get(best)! + 1);
    all.set(best, all.get(best)! + 1);
  }
  return out;
}
