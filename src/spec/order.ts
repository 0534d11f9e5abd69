import { itemKey } from "./check.js";
import type { PlannedChange } from "./plan.js";
import type { KindRegistry } from "./registry.js";

/** A plan entry with its place: items of one `wave` do not depend on each other. */
export interface Placed {
  change: PlannedChange;
  rank: number;
  wave: number;
}

/**
 * The order apply takes: items of the spec by kind rank, then by their references (an item after
 * those it refers to), otherwise as written; then destroys, highest rank first; orphans last.
 */
export function applyOrder(
  changes: readonly PlannedChange[],
  registry: KindRegistry,
): PlannedChange[] {
  return placeAll(changes, registry).map((p) => p.change);
}

/** `applyOrder` with each entry's rank and wave, for batching. */
export function placeAll(changes: readonly PlannedChange[], registry: KindRegistry): Placed[] {
  const rank = (kind: string): number => registry.get(kind)?.rank ?? 0;
  const forward = changes.filter((c) => c.item !== undefined);
  const waves = wavesOf(forward, registry);
  const placed = forward.map((change, i) => ({
    change,
    rank: rank(change.kind),
    wave: waves.get(itemKey(change.kind, change.name)) ?? 0,
    i,
  }));
  placed.sort((a, b) => a.rank - b.rank || a.wave - b.wave || a.i - b.i);
  const destroys = changes
    .filter((c) => c.item === undefined && c.action === "destroy")
    .map((change, i) => ({ change, rank: rank(change.kind), wave: 0, i }))
    .sort((a, b) => b.rank - a.rank || a.i - b.i);
  const rest = changes
    .filter((c) => c.item === undefined && c.action !== "destroy")
    .map((change) => ({ change, rank: rank(change.kind), wave: 0 }));
  return [...placed, ...destroys, ...rest].map(({ change, rank: r, wave }) => ({
    change,
    rank: r,
    wave,
  }));
}

/** Longest chain of references below each item (0: it refers to nothing in the plan). */
function wavesOf(changes: readonly PlannedChange[], registry: KindRegistry): Map<string, number> {
  const refs = new Map<string, string[]>();
  for (const c of changes) {
    const kind = registry.get(c.kind);
    const list = c.item === undefined ? [] : (kind?.refs?.(c.item) ?? []);
    refs.set(
      itemKey(c.kind, c.name),
      list.map((r) => itemKey(r.kind, r.name)),
    );
  }
  const waves = new Map<string, number>();
  const visiting = new Set<string>();
  const wave = (key: string): number => {
    const known = waves.get(key);
    if (known !== undefined) return known;
    if (visiting.has(key)) return 0; // a cycle: the loader refuses those; do not loop here
    visiting.add(key);
    let w = 0;
    for (const r of refs.get(key) ?? []) if (refs.has(r)) w = Math.max(w, wave(r) + 1);
    visiting.delete(key);
    waves.set(key, w);
    return w;
  };
  for (const key of refs.keys()) wave(key);
  return waves;
}
