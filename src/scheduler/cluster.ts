/**
 * The placement index of one plan: the live nodes (sorted by name), what each has free, how many
 * instances each runs (of every app, and of each app), and the nodes that satisfy a set of
 * constraints, grouped by a spread label's values. Built once per plan — O(nodes + instances),
 * label groups once per constraint set — then each placement costs a few lookups (sample.ts).
 */
import { milli, type Constraint, type NodeInfo, type Placed } from "./demand.js";

/** Numbers per node in Cluster.slots. */
export const SLOT = 4;
/** The largest whole number float32 holds exactly, less one. */
const EXACT = 2 ** 24 - 1;

export class Cluster {
  /** Node names, sorted: an index into every array below. */
  readonly names: string[];
  readonly labels: (Readonly<Record<string, string>> | undefined)[];
  /**
   * Per node, side by side (one cache line holds four nodes, so a sampled candidate costs one
   * memory access on large clusters): at i*4 free CPU in thousandths, at i*4+1 free memory in
   * MiB (Infinity: capacity unknown), at i*4+2 the instances of every app on it. Whole numbers
   * below 2^24, so float32 holds them exactly (capacities are capped there: 16,777 CPUs, 16 TiB).
   */
  readonly slots: Float32Array;
  /** Name → index, made on first use. */
  private at: Map<string, number> | undefined;
  private readonly byApp = new Map<string, Map<number, number>>();
  private readonly bases = new Map<string, Int32Array>();
  private readonly groupCache = new Map<string, Map<string, Int32Array>>();

  constructor(nodes: readonly NodeInfo[], existing: readonly Placed[]) {
    // Usually given sorted and without duplicates: then neither a sort nor a map is needed.
    let ordered = true;
    for (let i = 1; i < nodes.length && ordered; i++) ordered = nodes[i - 1]!.name < nodes[i]!.name;
    const sorted = ordered
      ? nodes
      : [...new Map(nodes.map((n) => [n.name, n])).values()].sort((a, b) =>
          a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
        );
    const n = sorted.length;
    this.names = sorted.map((x) => x.name);
    this.labels = sorted.map((x) => x.labels);
    this.slots = new Float32Array(n * SLOT);
    sorted.forEach((x, i) => {
      this.slots[i * SLOT] = x.cpus === undefined ? Infinity : Math.min(milli(x.cpus), EXACT);
      this.slots[i * SLOT + 1] = x.memoryMb === undefined ? Infinity : Math.min(x.memoryMb, EXACT);
    });
    for (const p of existing) {
      const i = this.indexOf(p.node);
      // On a node that is gone: it does not weigh on live ones.
      if (i !== undefined) this.add(i, p.app, milli(p.cpu), p.memoryMb ?? 0);
    }
  }

  get size(): number {
    return this.names.length;
  }

  /** Free CPU of node i, thousandths. */
  freeCpu(i: number): number {
    return this.slots[i * SLOT]!;
  }

  /** Free memory of node i, MiB. */
  freeMem(i: number): number {
    return this.slots[i * SLOT + 1]!;
  }

  /** Instances of every app on node i. */
  load(i: number): number {
    return this.slots[i * SLOT + 2]!;
  }

  indexOf(name: string): number | undefined {
    if (this.at === undefined) {
      this.at = new Map();
      for (let i = 0; i < this.names.length; i++) this.at.set(this.names[i]!, i);
    }
    return this.at.get(name);
  }

  /** Count an instance of `app` on node `i`, reserving what it asks for. */
  add(i: number, app: string, cpuMilli: number, memoryMb: number): void {
    this.slots[i * SLOT]! -= cpuMilli;
    this.slots[i * SLOT + 1]! -= memoryMb;
    this.slots[i * SLOT + 2]! += 1;
    const mine = this.mine(app);
    mine.set(i, (mine.get(i) ?? 0) + 1);
  }

  /** The app's instances per node (live, mutable by add). */
  mine(app: string): Map<number, number> {
    let m = this.byApp.get(app);
    if (m === undefined) this.byApp.set(app, (m = new Map()));
    return m;
  }

  /** Node indexes (name order) that satisfy every constraint; cached per constraint set. */
  candidates(constraints: readonly Constraint[]): Int32Array {
    const key = constraintKey(constraints);
    let list = this.bases.get(key);
    if (list === undefined) {
      const found: number[] = [];
      for (let i = 0; i < this.names.length; i++) {
        const l = this.labels[i];
        if (constraints.every((c) => l?.[c.label] === c.value)) found.push(i);
      }
      list = Int32Array.from(found);
      this.bases.set(key, list);
    }
    return list;
  }

  /**
   * The candidates grouped by the spread label's value ("" for nodes without it); one group of
   * all candidates without a spread label. Cached per constraint set and label.
   */
  groups(constraints: readonly Constraint[], spread: string | undefined): Map<string, Int32Array> {
    const key = `${constraintKey(constraints)}|${spread ?? ""}`;
    let g = this.groupCache.get(key);
    if (g === undefined) {
      const base = this.candidates(constraints);
      g = new Map();
      if (spread === undefined) g.set("", base);
      else {
        const lists = new Map<string, number[]>();
        for (const i of base) {
          const v = this.labels[i]?.[spread] ?? "";
          const list = lists.get(v);
          if (list === undefined) lists.set(v, [i]);
          else list.push(i);
        }
        for (const [v, list] of lists) g.set(v, Int32Array.from(list));
      }
      this.groupCache.set(key, g);
    }
    return g;
  }
}

const constraintKey = (cs: readonly Constraint[]): string =>
  cs
    .map((c) => `${c.label}=${c.value}`)
    .sort()
    .join("\u0000");
