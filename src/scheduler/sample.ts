/**
 * Placing one app's new instances on a Cluster (cluster.ts), Nomad-style: each placement scores
 * a few sampled candidates (power of choices) instead of every node, so its cost does not grow
 * with the cluster. Small candidate sets (at most EXHAUSTIVE nodes) are scored in full, which
 * keeps the exact even spread of small clusters: the fewest instances of this app, then the
 * fewest overall, then the name.
 *
 * With a spread label, the location (the label's value) with the fewest of the app's instances
 * is chosen first, then a node in it. A candidate must satisfy the constraints (label index,
 * once per plan) and have the CPU and memory free. Pure and deterministic for a given seed.
 */
import { SLOT, type Cluster } from "./cluster.js";
import { milli, type Demand } from "./demand.js";
import { hashSeed, seeded } from "./rng.js";
import { unplacedReason } from "./why.js";

/** Candidate sets up to this size are scored in full. */
export const EXHAUSTIVE = 64;
/** Feasible candidates scored per placement when sampling. */
export const SAMPLE = 3;
/** Random draws per placement before the candidates are compacted to the feasible ones. */
const DRAWS = SAMPLE * 8;

export interface PlaceOptions {
  /** Seed of the sampling (default: from the app's name). */
  seed?: number;
  /** Give only `indexes` (nodes stays empty): for callers that map them to names later. */
  indexesOnly?: true;
}

export interface Placement {
  /** One node name per placed instance, in order. */
  nodes: string[];
  /** The same nodes as indexes into the Cluster's names. */
  indexes: number[];
  /** Why the rest could not be placed (undefined when all were). */
  reason?: string;
  /** Candidate nodes looked at, for the bench's cost figures. */
  scored: number;
}

/** Place `count` instances of `d.app`, reserving their resources in `c` as it goes. */
export function placeMany(c: Cluster, d: Demand, count: number, o: PlaceOptions = {}): Placement {
  const out: Placement = { nodes: [], indexes: [], scored: 0 };
  if (count <= 0) return out;
  const rng = seeded(o.seed ?? hashSeed(d.app));
  const cpu = milli(d.cpu);
  const mem = d.memoryMb;
  const mine = c.mine(d.app);
  const groups = c.groups(d.constraints, d.spread);
  const work = new Map(groups); // arrays are replaced (never changed) when compacted
  const locs = [...groups.keys()].sort();
  const locCount = new Map<string, number>(locs.map((l) => [l, 0]));
  if (d.spread !== undefined)
    for (const [i, n] of mine) {
      const l = c.labels[i]?.[d.spread] ?? "";
      if (locCount.has(l)) locCount.set(l, locCount.get(l)! + n);
    }
  const exhausted = new Set<string>();
  const slots = c.slots;
  const fits = (i: number): boolean => slots[i * SLOT]! >= cpu && slots[i * SLOT + 1]! >= mem;
  /** Whether node a scores better than node b (fewer of the app, fewer overall, name). */
  const better = (a: number, b: number): boolean => {
    const dm = (mine.get(a) ?? 0) - (mine.get(b) ?? 0);
    if (dm !== 0) return dm < 0;
    const dl = slots[a * SLOT + 2]! - slots[b * SLOT + 2]!;
    return dl !== 0 ? dl < 0 : a < b;
  };
  const scan = (arr: Int32Array): number => {
    let best = -1;
    out.scored += arr.length;
    for (const i of arr) if (fits(i) && (best < 0 || better(i, best))) best = i;
    return best;
  };
  const pickIn = (loc: string): number => {
    let arr = work.get(loc)!;
    if (arr.length <= EXHAUSTIVE) return scan(arr);
    let best = -1;
    let got = 0;
    for (let t = 0; t < DRAWS && got < SAMPLE; t++) {
      const i = arr[Math.floor(rng() * arr.length)]!;
      out.scored++;
      if (!fits(i)) continue;
      got++;
      if (best < 0 || better(i, best)) best = i;
    }
    if (best >= 0) return best;
    // Mostly full: keep only the nodes that still fit (they only fill up), then again.
    arr = arr.filter(fits);
    out.scored += work.get(loc)!.length;
    work.set(loc, arr);
    return arr.length === 0 ? -1 : pickIn(loc);
  };
  while (out.indexes.length < count) {
    let loc: string | undefined;
    for (const l of locs)
      if (!exhausted.has(l) && (loc === undefined || locCount.get(l)! < locCount.get(loc)!))
        loc = l;
    if (loc === undefined) {
      out.reason = unplacedReason(c, d);
      break;
    }
    const i = pickIn(loc);
    if (i < 0) {
      exhausted.add(loc);
      continue;
    }
    c.add(i, d.app, cpu, mem);
    locCount.set(loc, locCount.get(loc)! + 1);
    if (o.indexesOnly !== true) out.nodes.push(c.names[i]!);
    out.indexes.push(i);
  }
  return out;
}
