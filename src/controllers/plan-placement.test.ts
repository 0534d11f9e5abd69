/**
 * The deploy planner places through the scheduler (issue 16): the app's cpu, memory,
 * constraints and spread against the live nodes' labels and capacity, and why not, in words.
 */
import { describe, expect, it } from "vitest";
import type { DeploySnapshot } from "./plan-types.js";
import type { NodeInfo } from "../scheduler/demand.js";
import { deploy, newApp, newRelease, ofRelease, World } from "../../test/helpers/plan-world.js";

class PlacedWorld extends World {
  info = new Map<string, NodeInfo>();
  override snapshot(app = "hello"): DeploySnapshot {
    return { ...super.snapshot(app), nodeInfo: this.info };
  }
}

function world(nodes: NodeInfo[]): PlacedWorld {
  const w = new PlacedWorld();
  w.nodes = nodes.map((n) => n.name);
  for (const n of nodes) w.info.set(n.name, n);
  return w;
}

describe("planDeploy places under the app's constraints", () => {
  it("puts instances only on matching nodes with room, spread across locations, each reserving its CPU", () => {
    const w = world([
      { name: "a1", labels: { role: "web", location: "a" }, cpus: 2, memoryMb: 4096 },
      { name: "a2", labels: { role: "web", location: "a" }, cpus: 2, memoryMb: 4096 },
      { name: "b1", labels: { role: "web", location: "b" }, cpus: 1, memoryMb: 4096 },
      { name: "db", labels: { role: "db", location: "b" }, cpus: 64, memoryMb: 65536 },
    ]);
    newApp(w, {
      formation: { web: 4 },
      cpu: 1,
      constraints: ["role=web"],
      spread: "location",
    });
    newRelease(w, 1);
    w.settle();
    const placed = ofRelease(w, 1);
    expect(placed).toHaveLength(4);
    expect(placed.every((a) => a.cpu === 1)).toBe(true);
    const on = placed.map((a) => a.node).sort();
    // Not on db (role), at most 1 on b1 (1 CPU); location b is full after one, so a takes 3.
    expect(on).toEqual(["a1", "a1", "a2", "b1"]);
  });

  it("fails the deploy saying why when an instance fits nowhere", () => {
    const w = world([
      { name: "n1", cpus: 2, memoryMb: 4096 },
      { name: "n2", cpus: 1, memoryMb: 4096 },
    ]);
    newApp(w, { formation: { web: 1 }, cpu: 3 });
    newRelease(w, 1);
    w.settle();
    expect(ofRelease(w, 1)).toHaveLength(0);
    expect(deploy(w).status).toBe("failed");
    expect(deploy(w).log.join("\n")).toContain("no node has 3 CPUs free (2 nodes: 2, 1 free)");
  });
});
