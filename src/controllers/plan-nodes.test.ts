/**
 * The deploy planner and nodes (src/controllers/plan-formation.ts): instances lost with a node
 * that died, a node that dies during a deploy, and draining a node.
 */
import { describe, expect, it } from "vitest";
import { assignmentKey, appKey } from "../apps/keys.js";
import type { Assignment } from "../model/app.js";
import {
  allPass,
  app,
  ids,
  live,
  newRelease,
  ofRelease,
  release,
  World,
} from "../../test/helpers/plan-world.js";
import { NODE_LOST_MS } from "./deploy-plan.js";

describe("planDeploy: a node that dies", () => {
  /** node-b stops heartbeating: its lease expires and the controller notes when. */
  function kill(w: World, node: string): void {
    w.nodes = w.nodes.filter((n) => n !== node);
    w.downSince.set(node, w.now);
  }

  it("waits for the grace it is given (--node-grace), not the default", () => {
    const w = new World();
    w.graceMs = 20_000;
    const onB = live(w, { web: 2 }).find((a) => a.node === "node-b")!;
    kill(w, "node-b");
    expect(w.settle()).toEqual([]);
    expect(w.plan().wakeAt).toBe(w.now + 20_000);
    w.now += NODE_LOST_MS;
    expect(w.plan().transition).toBeUndefined();
    w.now += 20_000 - NODE_LOST_MS;
    expect(w.plan().transition?.events[0]).toBe(`lost web.${onB.index}: node node-b (gone 20 s)`);
  });

  it("replaces its instances on the live nodes after the grace, keeping their names", () => {
    const w = new World();
    const before = live(w, { web: 2 });
    expect(before.map((a) => a.node).sort()).toEqual(["node-a", "node-b"]);
    const onB = before.find((a) => a.node === "node-b")!;
    kill(w, "node-b");
    // Within the grace nothing moves, and the planner says when to look again.
    expect(w.settle()).toEqual([]);
    expect(w.plan().wakeAt).toBe(w.now + NODE_LOST_MS);
    w.now += NODE_LOST_MS;
    const p = w.plan();
    expect(p.transition?.summary).toBe("replace lost instances of v1");
    expect(p.transition?.events).toEqual([
      `lost web.${onB.index}: node node-b (gone ${NODE_LOST_MS / 1000} s)`,
      `replacing: starting web.${onB.index} on node-a`,
    ]);
    w.apply(p.transition!);
    // The assignment goes, and what the dead agent can no longer remove: status and catalog.
    expect(w.deleted).toEqual([
      assignmentKey("node-b", onB.id),
      `instances/${onB.id}`,
      `catalog/hello/${onB.id}`,
      `health/hello/${onB.id}/`,
    ]);
    expect(p.transition!.deletes.map((d) => d.prefix === true)).toEqual([
      false,
      false,
      false,
      true,
    ]);
    const web = ofRelease(w, 1);
    expect(web.map((a) => [a.processType, a.index, a.node]).sort()).toEqual([
      ["web", 1, "node-a"],
      ["web", 2, "node-a"],
    ]);
    expect(web.every((a) => a.desired === "running")).toBe(true);
    expect(w.settle()).toEqual([]);
  });

  it("leaves them alone when the node comes back within the grace", () => {
    const w = new World();
    const before = live(w, { web: 2 });
    kill(w, "node-b");
    w.now += NODE_LOST_MS - 1;
    expect(w.settle()).toEqual([]);
    w.nodes = ["node-a", "node-b"];
    w.downSince.clear();
    w.now += 60_000;
    expect(w.settle()).toEqual([]);
    expect(ids(ofRelease(w, 1))).toEqual(ids(before));
  });

  it("keeps them while no live node can take them, and forgets the ones scaled away", () => {
    const w = new World();
    live(w, { web: 2 });
    kill(w, "node-a");
    kill(w, "node-b");
    w.now += NODE_LOST_MS;
    expect(w.settle()).toEqual([]);
    expect(ofRelease(w, 1)).toHaveLength(2);
    // Scaled to 1 meanwhile: web.2 is forgotten; web.1 waits for a node.
    w.put(appKey("hello"), { ...app(w), formation: { web: 1 } });
    expect(w.settle()).toEqual(["forget 1 lost instance(s)"]);
    expect(ofRelease(w, 1).map((a) => a.index)).toEqual([1]);
    // A node joins: web.1 starts there.
    w.nodes = ["node-c"];
    expect(w.settle()).toEqual(["replace lost instances of v1"]);
    expect(ofRelease(w, 1).map((a) => [a.index, a.node])).toEqual([[1, "node-c"]]);
  });
});

describe("planDeploy: a node that dies during a deploy", () => {
  it("fails the deploy naming the node, and the drained old instances on it leave nothing behind", () => {
    const w = new World();
    const old = live(w, { web: 2 });
    newRelease(w, 2);
    w.settle();
    const news = ofRelease(w, 2);
    const onA = news.find((a) => a.node === "node-a")!;
    w.report(onA, "running");
    w.pass(onA);
    w.nodes = ["node-a"];
    w.downSince.set("node-b", w.now);
    w.now += 30_000;
    expect(w.settle()).toContain("v2 failed");
    expect(release(w, 2).error).toMatch(
      /^not ready within 30 s: web\.\d was placed on node node-b, which went down/,
    );

    // Meanwhile v1's instance on node-b counted as lost and was replaced, records and all.
    const oldOnB = old.find((a) => a.node === "node-b")!;
    expect(w.deleted).toContain(`catalog/hello/${oldOnB.id}`);
    expect(ofRelease(w, 1).map((a) => a.node)).toEqual(["node-a", "node-a"]);
  });

  it("a drained instance on a node that is down goes with its records", () => {
    const w = new World();
    const old = live(w, { web: 2 });
    newRelease(w, 2);
    w.settle();
    allPass(w, 2);
    expect(app(w).currentRelease).toBe(2);
    // node-b goes down while v1 drains; 5 s later (within the grace) the drained ones go.
    w.nodes = ["node-a"];
    w.downSince.set("node-b", w.now);
    w.now += 5000;
    w.deleted = [];
    expect(w.settle()).toContain("stop 2 drained instance(s)");
    const oldOnA = old.find((a) => a.node === "node-a")!;
    const oldOnB = old.find((a) => a.node === "node-b")!;
    expect(w.deleted).toContain(`catalog/hello/${oldOnB.id}`);
    expect(w.deleted).toContain(`instances/${oldOnB.id}`);
    expect(w.deleted).not.toContain(`catalog/hello/${oldOnA.id}`); // its agent deregisters it
    expect(ofRelease(w, 1)).toEqual([]);
  });
});

describe("planDeploy: draining a node", () => {
  it("starts each of its instances elsewhere first, and stops it once the replacement passes", () => {
    const w = new World();
    const before = live(w, { web: 2 });
    const onB = before.find((a) => a.node === "node-b")!;
    w.draining.add("node-b");
    expect(w.settle()).toEqual(["move instances of v1 off draining nodes"]);
    const next = ofRelease(w, 1).find((a) => a.node === "node-a" && a.index === onB.index)!;
    expect(next.desired).toBe("running");
    // Until the replacement passes, the old one keeps serving.
    expect(w.get<Assignment>(assignmentKey("node-b", onB.id))!.desired).toBe("running");
    w.report(next, "running");
    w.pass(next);
    expect(w.settle()).toEqual(["hand over 1 instance(s) from draining nodes"]);
    expect(w.get<Assignment>(assignmentKey("node-b", onB.id))!.desired).toBe("draining");
    w.now += 5000;
    expect(w.settle()).toEqual(["stop 1 drained instance(s)"]);
    expect(
      ofRelease(w, 1)
        .map((a) => [a.index, a.node])
        .sort(),
    ).toEqual([
      [1, "node-a"],
      [2, "node-a"],
    ]);
  });

  it("keeps its instances where they are while no other node can take them", () => {
    const w = new World();
    w.nodes = ["node-b"];
    const before = live(w, { web: 2 });
    w.draining.add("node-b");
    expect(w.settle()).toEqual([]);
    expect(ids(ofRelease(w, 1))).toEqual(ids(before));
  });

  it("gets no instances of a new release", () => {
    const w = new World();
    live(w, { web: 2 });
    w.draining.add("node-b");
    newRelease(w, 2);
    w.settle();
    expect(ofRelease(w, 2).map((a) => a.node)).toEqual(["node-a", "node-a"]);
  });
});
