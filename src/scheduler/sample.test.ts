import { describe, expect, it } from "vitest";
import { Cluster } from "./cluster.js";
import type { Demand, NodeInfo, Placed } from "./demand.js";
import { EXHAUSTIVE, placeMany } from "./sample.js";
import { placeWhy } from "./place.js";
import { seeded } from "./rng.js";

const demand = (d: Partial<Demand> = {}): Demand => ({
  app: "web",
  cpu: 0,
  memoryMb: 0,
  constraints: [],
  ...d,
});

/** n nodes n00…, labels role (web for even, db for odd) and location (l0..l(locs-1)). */
function nodes(n: number, cpus = 4, memoryMb = 8192, locs = 3): NodeInfo[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `n${String(i).padStart(5, "0")}`,
    labels: { role: i % 2 === 0 ? "web" : "db", location: `l${i % locs}` },
    cpus,
    memoryMb,
  }));
}

const count = (xs: string[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

describe("placeMany: constraints, reservations, spread, sampling", () => {
  it("puts instances only on nodes whose labels match every constraint", () => {
    for (const n of [10, 1000]) {
      const ns = nodes(n);
      const c = new Cluster(ns, []);
      const p = placeMany(c, demand({ constraints: [{ label: "role", value: "web" }] }), 200);
      expect(p.nodes).toHaveLength(200);
      const web = new Set(ns.filter((x) => x.labels!["role"] === "web").map((x) => x.name));
      for (const node of p.nodes) expect(web.has(node)).toBe(true);
    }
  });

  it("never reserves more CPU or memory than a node has, whatever the order (property)", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = seeded(seed);
      const n = 5 + Math.floor(r() * 200);
      const ns = nodes(n, 1 + Math.floor(r() * 8), 512 + Math.floor(r() * 4096));
      const existing: Placed[] = ns.slice(0, n / 2).map((x) => ({
        node: x.name,
        app: "old",
        cpu: 0.5,
        memoryMb: 128,
      }));
      const c = new Cluster(ns, existing);
      const d = demand({
        cpu: 0.25 + Math.floor(r() * 8) / 4,
        memoryMb: 64 + Math.floor(r() * 1024),
      });
      const p = placeMany(c, d, 5000, { seed });
      const used = new Map<string, { cpu: number; mem: number }>();
      for (const e of existing) used.set(e.node, { cpu: 0.5, mem: 128 });
      for (const node of p.nodes) {
        const u = used.get(node) ?? { cpu: 0, mem: 0 };
        used.set(node, { cpu: u.cpu + d.cpu, mem: u.mem + d.memoryMb });
      }
      for (const x of ns) {
        const u = used.get(x.name) ?? { cpu: 0, mem: 0 };
        expect(u.cpu).toBeLessThanOrEqual(x.cpus! + 1e-9);
        expect(u.mem).toBeLessThanOrEqual(x.memoryMb!);
      }
      // It stops only when nothing more fits anywhere, and says why.
      expect(p.nodes.length).toBeLessThan(5000);
      for (const x of ns) {
        const u = used.get(x.name) ?? { cpu: 0, mem: 0 };
        const fits = u.cpu + d.cpu <= x.cpus! + 1e-9 && u.mem + d.memoryMb <= x.memoryMb!;
        expect(fits).toBe(false);
      }
      expect(p.reason).toMatch(/^no node has /);
    }
  });

  it("spreads across the spread label's values, then evenly over nodes (sampled too)", () => {
    for (const n of [30, 3000]) {
      const c = new Cluster(nodes(n, 64, 1 << 20, 3), []);
      const p = placeMany(c, demand({ spread: "location" }), 3 * n);
      const byLoc = count(p.nodes.map((x) => `l${Number(x.slice(1)) % 3}`));
      expect([...byLoc.values()]).toEqual([n, n, n]);
      const perNode = [...count(p.nodes).values()];
      // Exhaustive: exactly 3 each. Sampled (power of three choices): close to even.
      if (n <= EXHAUSTIVE) expect(new Set(perNode)).toEqual(new Set([3]));
      else {
        expect(Math.max(...perNode)).toBeLessThanOrEqual(5);
        expect(perNode.length).toBeGreaterThan(n * 0.95);
      }
    }
  });

  it("counts the app's instances already in each location", () => {
    const ns = nodes(6, 4, 8192, 3);
    const existing = [
      { node: ns[0]!.name, app: "web" },
      { node: ns[3]!.name, app: "web" },
      { node: ns[1]!.name, app: "web" },
    ]; // l0: 2, l1: 1, l2: 0
    const p = placeWhy({
      nodes: ns,
      app: "web",
      count: 2,
      existing,
      demand: demand({ spread: "location" }),
    });
    expect(p.nodes.map((x) => `l${Number(x.slice(1)) % 3}`)).toEqual(["l2", "l1"]);
  });

  it("costs the same few candidates per placement on 500 or 50,000 nodes", () => {
    const per = (n: number): number => {
      const c = new Cluster(nodes(n, 64, 1 << 20), []);
      const p = placeMany(
        c,
        demand({ cpu: 0.5, memoryMb: 256, constraints: [{ label: "role", value: "web" }] }),
        5000,
      );
      expect(p.nodes).toHaveLength(5000);
      return p.scored / 5000;
    };
    const small = per(500);
    const large = per(50_000);
    expect(small).toBeLessThanOrEqual(4);
    expect(large).toBeLessThanOrEqual(4);
  });

  it("is deterministic for a seed, and different seeds sample differently", () => {
    const run = (seed: number): string[] =>
      placeMany(new Cluster(nodes(1000), []), demand(), 50, { seed }).nodes;
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it("says why an instance cannot be placed", () => {
    const ns: NodeInfo[] = [
      { name: "a", cpus: 2, memoryMb: 1024, labels: { role: "web" } },
      { name: "b", cpus: 1, memoryMb: 4096 },
      { name: "c", cpus: 1, memoryMb: 512 },
    ];
    const existing: Placed[] = [
      { node: "a", app: "x", cpu: 0.5 },
      { node: "c", app: "x", cpu: 0.5 },
    ];
    const why = (d: Partial<Demand>): string | undefined =>
      placeWhy({ nodes: ns, app: "web", count: 1, existing, demand: demand(d) }).reason;
    expect(why({ cpu: 2 })).toBe("no node has 2 CPUs free (3 nodes: 1.5, 1, 0.5 free)");
    expect(why({ memoryMb: 8192 })).toBe(
      "no node has 8192 MiB memory free (3 nodes: 4096, 1024, 512 MiB free)",
    );
    expect(why({ cpu: 1.5, memoryMb: 2048 })).toBe(
      "no node has both 1.5 CPUs and 2048 MiB free (3 nodes: 1.5 CPUs/1024 MiB, 1 CPU/4096 MiB, 0.5 CPU/512 MiB free)",
    );
    expect(why({ constraints: [{ label: "role", value: "db" }] })).toBe(
      "no live node has role=db (3 live nodes, none with that label value)",
    );
    expect(why({ cpu: 2, constraints: [{ label: "role", value: "web" }] })).toBe(
      "no node with role=web has 2 CPUs free (1 node: 1.5 free)",
    );
    expect(why({ cpu: 1 })).toBeUndefined();
  });
});
