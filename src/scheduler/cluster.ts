/**
 * The placement index of one plan: the live nodes (sorted by name), what each has free, how many
 * instances each runs (of every app, and of each app), and the nodes that satisfy a set of
 * constraints, grouped by a spread label's values. Built once per plan — O(nodes + instances),
 * label groups once per constraint set — then each placement costs a few lookups (sample.ts).
 */
import { milli, type Constraint, type NodeInfo, type Placed } from "./demand.js";

export class Cluster {
  /** Node names, sorted: an index into every array below. */
  readonly names: string[];
  readonly labels: (Readonly<Record<string, string>> | undefined)[];
  /** Free CPU, thousandths (Infinity: capacity unknown). */
  readonly freeCpu: Float64Array;
  /** Free memory, MiB (Infinity: capacity unknown). */
  readonly freeMem: Float64Array;
  /** Instances of every app on each node. */
  readonly load: Int32Array;
  private readonly at = new Map<string, number>();
  private readonly byApp = new Map<string, Map<number, number>>();
  private readonly bases = new Map<string, number[]>();
  private readonly groupCache = new Map<string, Map<string, number[]>>();

  constructor(nodes: readonly NodeInfo[], existing: readonly Placed[]) {
    const unique = new Map<string, NodeInfo>();
    for (const n of nodes) unique.set(n.name, n);
    const sorted = [...unique.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    const n = sorted.length;
    this.names = sorted.map((x) => x.name);
    this.labels = sorted.map((x) => x.labels);
    this.freeCpu = new Float64Array(n);
    this.freeMem = new Float64Array(n);
    this.load = new Int32Array(n);
    sorted.forEach((x, i) => {
      this.at.set(x.name, i);
      this.freeCpu[i] = x.cpus === undefined ? Infinity : milli(x.cpus);
      this.freeMem[i] = x.memoryMb ?? Infinity;
    });
    for (const p of existing) {
      const i = this.at.get(p.node);
      // On a node that is gone: it does not weigh on live ones.
      if (i !== undefined) this.add(i, p.app, milli(p.cpu), p.memoryMb ?? 0);
    }
  }

  get size(): number {
    return this.names.length;
  }

  indexOf(name: string): number | undefined {
    return this.at.get(name);
  }

  /** Count an instance of `app` on node `i`, reserving what it asks for. */
  add(i: number, app: string, cpuMilli: number, memoryMb: number): void {
    this.load[i]! += 1;
    this.freeCpu[i]! -= cpuMilli;
    this.freeMem[i]! -= memoryMb;
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
  candidates(constraints: readonly Constraint[]): number[] {
    const key = constraintKey(constraints);
    let list = this.bases.get(key);
    if (list === undefined) {
      list = [];
      for (let i = 0; i < this.names.length; i++) {
        const l = this.labels[i];
        if (constraints.every((c) => l?.[c.label] === c.value)) list.push(i);
      }
      this.bases.set(key, list);
    }
    return list;
  }

  /**
   * The candidates grouped by the spread label's value ("" for nodes without it); one group of
   * all candidates without a spread label. Cached per constraint set and label.
   */
  groups(constraints: readonly Constraint[], spread: string | undefined): Map<string, number[]> {
    const key = `${constraintKey(constraints)}|${spread ?? ""}`;
    let g = this.groupCache.get(key);
    if (g === undefined) {
      const base = this.candidates(constraints);
      g = new Map();
      if (spread === undefined) g.set("", base);
      else
        for (const i of base) {
          const v = this.labels[i]?.[spread] ?? "";
          const list = g.get(v);
          if (list === undefined) g.set(v, [i]);
          else list.push(i);
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
