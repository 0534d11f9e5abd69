import { describe, expect, it } from "vitest";
import { assignmentKey, appKey, deployKey } from "../apps/keys.js";
import {
  releaseKey,
  type App,
  type Assignment,
  type Deploy,
  type InstanceStatus,
  type Release,
} from "../model/app.js";
import {
  NODE_LOST_MS,
  planDeploy,
  type DeploySnapshot,
  type InstanceHealth,
  type Plan,
  type Transition,
  type Versioned,
} from "./deploy-plan.js";

const T0 = Date.parse("2030-01-01T00:00:00.000Z");
const ART = "a".repeat(64);
const ART2 = "b".repeat(64);

/**
 * A tiny world of records with revisions, standing in for the Store: the planner's transitions
 * are applied to it (refused when an expected modRevision is stale), and snapshots are read back.
 */
class World {
  rev = 1;
  records = new Map<string, Versioned<unknown>>();
  instances = new Map<string, InstanceStatus>();
  health = new Map<string, InstanceHealth>();
  nodes = ["node-a", "node-b"];
  downSince = new Map<string, number>();
  draining = new Set<string>();
  deleted: string[] = [];
  now = T0;
  private n = 0;

  put(key: string, value: unknown): void {
    this.records.set(key, { value: structuredClone(value), modRevision: ++this.rev });
  }

  get<T>(key: string): T | undefined {
    return this.records.get(key)?.value as T | undefined;
  }

  private under<T>(prefix: string): Versioned<T>[] {
    return [...this.records]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, v]) => v as Versioned<T>);
  }

  assignments(): Assignment[] {
    return this.under<Assignment>("assignments/").map((v) => v.value);
  }

  snapshot(app = "hello"): DeploySnapshot {
    return {
      now: this.now,
      app: this.records.get(appKey(app)) as Versioned<App> | undefined,
      releases: this.under<Release>(`releases/${app}/`),
      deploy: this.records.get(deployKey(app)) as Versioned<Deploy> | undefined,
      assignments: this.under<Assignment>("assignments/").filter((a) => a.value.app === app),
      instances: this.instances,
      health: this.health,
      nodes: this.nodes,
      downSince: this.downSince,
      draining: this.draining,
      others: [],
    };
  }

  plan(): Plan {
    return planDeploy(this.snapshot(), { suffix: () => `s${String(++this.n).padStart(3, "0")}` });
  }

  apply(t: Transition): void {
    const stale = [...t.puts, ...t.deletes].find(
      (w) => w.expect !== undefined && (this.records.get(w.key)?.modRevision ?? 0) !== w.expect,
    );
    const staleGuard = t.guards.find(
      (g) => (this.records.get(g.key)?.modRevision ?? 0) !== g.modRevision,
    );
    if (stale !== undefined || staleGuard !== undefined) throw new Error("stale transition");
    this.rev++;
    for (const p of t.puts)
      this.records.set(p.key, { value: structuredClone(p.value), modRevision: this.rev });
    for (const d of t.deletes) {
      this.records.delete(d.key);
      this.deleted.push(d.key);
    }
  }

  /** Plan and apply until the planner waits; the transitions' summaries. */
  settle(): string[] {
    const done: string[] = [];
    for (let i = 0; i < 20; i++) {
      const p = this.plan();
      if (p.transition === undefined) return done;
      this.apply(p.transition);
      done.push(p.transition.summary);
    }
    throw new Error(`no fixpoint: ${done.join("; ")}`);
  }

  /** The agent's part: an instance reports a state; web ones pass (or fail) their check. */
  report(a: Assignment, state: InstanceStatus["state"], extra: Partial<InstanceStatus> = {}): void {
    this.instances.set(a.id, {
      id: a.id,
      app: a.app,
      release: a.release,
      processType: a.processType,
      index: a.index,
      node: a.node,
      state,
      restarts: 0,
      lastOutput: [],
      updatedAt: new Date(this.now).toISOString(),
      startedAt: new Date(this.now).toISOString(),
      ...extra,
    });
  }

  pass(a: Assignment, status: InstanceHealth["status"] = "passing", output = ""): void {
    this.health.set(a.id, { status, output });
  }
}

function newApp(w: World, over: Partial<App> = {}): App {
  const app: App = {
    name: "hello",
    createdAt: new Date(T0).toISOString(),
    createdBy: "test",
    domains: [],
    formation: {},
    healthPath: "/",
    deployTimeoutMs: 30_000,
    drainMs: 5000,
    currentRelease: 0,
    ...over,
  };
  w.put(appKey("hello"), app);
  return app;
}

function newRelease(w: World, version: number, over: Partial<Release> = {}): Release {
  const rel: Release = {
    app: "hello",
    version,
    artifact: ART,
    processTypes: { web: "node server.js" },
    configVersion: 1,
    config: {},
    description: `release ${version}`,
    createdAt: new Date(w.now).toISOString(),
    createdBy: "test",
    status: "pending",
    ...over,
  };
  w.put(releaseKey("hello", version), rel);
  return rel;
}

const release = (w: World, v: number): Release => w.get<Release>(releaseKey("hello", v))!;
const app = (w: World): App => w.get<App>(appKey("hello"))!;
const deploy = (w: World): Deploy => w.get<Deploy>(deployKey("hello"))!;
/** Assignment ids, sorted: the same instances, whatever their order. */
const ids = (list: Assignment[]): string[] => list.map((a) => a.id).sort();
const ofRelease = (w: World, v: number): Assignment[] =>
  w.assignments().filter((a) => a.release === v);

/** Every instance of release `v` runs and passes; a second on, its deploy has ended. */
function allPass(w: World, v: number): void {
  for (const a of ofRelease(w, v)) {
    w.report(a, "running");
    w.pass(a);
  }
  w.now += 1000;
  w.settle();
}

/** A world where v1 (web=2) is live and serving. */
function live(w: World, formation: App["formation"] = { web: 2 }): Assignment[] {
  newApp(w, { formation });
  newRelease(w, 1, { processTypes: { web: "node server.js", worker: "node worker.js" } });
  w.settle();
  allPass(w, 1);
  expect(app(w).currentRelease).toBe(1);
  return ofRelease(w, 1);
}

describe("planDeploy: a new release", () => {
  it("starts the formation's instances, spread over the nodes, and marks the release deploying", () => {
    const w = new World();
    newApp(w, { formation: { web: 2, worker: 1 } });
    newRelease(w, 1, { processTypes: { web: "node server.js", worker: "node worker.js" } });
    const p = w.plan();
    expect(p.transition?.summary).toBe("start deploying v1");
    w.apply(p.transition!);
    const started = w.assignments();
    expect(started.map((a) => [a.id, a.node, a.command, a.desired, a.kind]).sort()).toEqual([
      ["hello-v1-web-1-s001", "node-a", "node server.js", "running", "run"],
      ["hello-v1-web-2-s002", "node-b", "node server.js", "running", "run"],
      ["hello-v1-worker-1-s003", "node-a", "node worker.js", "running", "run"],
    ]);
    expect(release(w, 1).status).toBe("deploying");
    expect(deploy(w)).toMatchObject({ release: 1, previous: 0, status: "running" });
    expect(deploy(w).log.join("\n")).toContain("starting web.1 on node-a, web.2 on node-b");
    // Nothing more to do until the instances report, but the deadline is a reason to look again.
    expect(w.plan()).toEqual({ wakeAt: T0 + 30_000 });
  });

  it("runs web=1 by default and other process types only when scaled", () => {
    const w = new World();
    newApp(w);
    newRelease(w, 1, { processTypes: { web: "a", clock: "b" } });
    w.settle();
    expect(w.assignments().map((a) => `${a.processType}.${a.index}`)).toEqual(["web.1"]);
  });

  it("succeeds when every web instance passes and every other one runs for 1 s", () => {
    const w = new World();
    newApp(w, { formation: { web: 1, worker: 1 } });
    newRelease(w, 1, { processTypes: { web: "a", worker: "b" } });
    w.settle();
    const [web, worker] = [...w.assignments()].sort((a, b) => (a.id < b.id ? -1 : 1));
    w.report(web!, "running", { port: 5001 });
    w.pass(web!);
    w.report(worker!, "running");
    // The worker has not been up for a second yet: progress, then a wake-up at that second.
    expect(w.settle()).toEqual(["progress of v1"]);
    expect(w.plan()).toEqual({ wakeAt: T0 + 1000 });
    expect(deploy(w).log).toContain("web.1 passes its health check");
    expect(deploy(w).log).toContain("web.1 is running on node-a (port 5001)");
    w.now += 1000;
    expect(w.settle()).toEqual(["v1 is live"]);
    expect(app(w)).toMatchObject({ currentRelease: 1, formation: { web: 1, worker: 1 } });
    expect(release(w, 1).status).toBe("active");
    expect(deploy(w)).toMatchObject({ status: "succeeded", finishedAt: expect.any(String) });
  });

  it("moves traffic: the previous release is superseded and its instances drain, then stop", () => {
    const w = new World();
    const old = live(w);
    newRelease(w, 2, { artifact: ART2 });
    w.settle();
    const news = ofRelease(w, 2);
    expect(news).toHaveLength(2);
    // The old ones are untouched while the new ones start.
    expect(ofRelease(w, 1).map((a) => a.desired)).toEqual(["running", "running"]);
    for (const a of news) w.pass(a);
    w.now += 10;
    expect(w.settle()).toEqual(["v2 is live"]);
    expect(release(w, 1).status).toBe("superseded");
    expect(release(w, 2).status).toBe("active");
    expect(app(w).currentRelease).toBe(2);
    const draining = ofRelease(w, 1);
    expect(draining.map((a) => [a.id, a.desired, a.drainingSince])).toEqual(
      old.map((a) => [a.id, "draining", new Date(w.now).toISOString()]),
    );
    expect(deploy(w).log.at(-1)).toBe(
      "v2 is live; traffic moved from v1, draining 2 old instance(s) for 5 s",
    );
    // Drained for drainMs, then deleted (the agent stops them).
    expect(w.plan()).toEqual({ wakeAt: w.now + 5000 });
    w.now += 5000;
    expect(w.settle()).toEqual(["stop 2 drained instance(s)"]);
    expect(ofRelease(w, 1)).toEqual([]);
    expect(ofRelease(w, 2)).toHaveLength(2);
  });

  it("fails on a crash: the new instances go, the release is failed with the output, the old keep serving", () => {
    const w = new World();
    const old = live(w);
    const oldRevisions = old.map((a) => w.records.get(assignmentKey(a.node, a.id))!.modRevision);
    newRelease(w, 2);
    w.settle();
    const [first] = ofRelease(w, 2);
    w.report(first!, "crashed", {
      exitCode: 1,
      restarts: 3,
      lastOutput: ["starting", "Error: Cannot find module 'express'"],
    });
    expect(w.settle()).toEqual(["v2 failed"]);
    expect(ofRelease(w, 2)).toEqual([]);
    const rel = release(w, 2);
    expect(rel.status).toBe("failed");
    expect(rel.error).toContain("web.1 crashed, exit code 1, restarted 3 times");
    expect(rel.error).toContain("Error: Cannot find module 'express'");
    expect(deploy(w)).toMatchObject({ status: "failed", error: rel.error });
    expect(deploy(w).log.join("\n")).toContain("v1 keeps serving");
    // Old assignments: not written at all.
    expect(old.map((a) => w.records.get(assignmentKey(a.node, a.id))!.modRevision)).toEqual(
      oldRevisions,
    );
    expect(app(w).currentRelease).toBe(1);
    expect(release(w, 1).status).toBe("active");
  });

  it("fails at the deadline naming the instance that never passed", () => {
    const w = new World();
    live(w, { web: 1 });
    newRelease(w, 2);
    w.settle();
    const [a] = ofRelease(w, 2);
    w.report(a!, "running");
    w.pass(a!, "critical", "HTTP GET http://127.0.0.1:5003/: 500 Internal Server Error");
    w.now += 29_999;
    expect(w.settle()).toEqual(["progress of v2"]);
    expect(deploy(w).status).toBe("running");
    w.now += 1;
    expect(w.settle()).toEqual(["v2 failed"]);
    expect(release(w, 2).error).toBe(
      "not ready within 30 s: web.1 did not pass its health check on / (critical: HTTP GET http://127.0.0.1:5003/: 500 Internal Server Error)",
    );
    expect(ofRelease(w, 2)).toEqual([]);
    expect(ofRelease(w, 1).map((a) => a.desired)).toEqual(["running"]);
  });

  it("deploys one release at a time, oldest first", () => {
    const w = new World();
    live(w, { web: 1 });
    newRelease(w, 2);
    newRelease(w, 3);
    w.settle();
    expect(deploy(w).release).toBe(2);
    expect(release(w, 3).status).toBe("pending");
    expect(ofRelease(w, 3)).toEqual([]);
    for (const a of ofRelease(w, 2)) w.pass(a);
    w.settle();
    // v2 went live, then v3 started at once.
    expect(release(w, 2).status).toBe("active");
    expect(deploy(w)).toMatchObject({ release: 3, previous: 2, status: "running" });
  });

  it("fails at once when there is no live node", () => {
    const w = new World();
    w.nodes = [];
    newApp(w);
    newRelease(w, 1);
    expect(w.settle()).toEqual(["v1 failed"]);
    expect(release(w, 1)).toMatchObject({ status: "failed", error: "no live node to run it on" });
    expect(w.assignments()).toEqual([]);
  });

  it("makes a release without a build active at once (config before the first push)", () => {
    const w = new World();
    newApp(w);
    newRelease(w, 1, { artifact: undefined, processTypes: {} });
    expect(w.settle()).toEqual(["v1 has nothing to run"]);
    expect(release(w, 1).status).toBe("active");
    expect(app(w).currentRelease).toBe(1);
    expect(w.assignments()).toEqual([]);
  });

  it("does nothing for an app that does not exist", () => {
    const w = new World();
    expect(w.plan()).toEqual({});
  });
});

describe("planDeploy: scaling the current release", () => {
  it("starts extra instances first and drains the surplus only once they are up", () => {
    const w = new World();
    live(w, { web: 3 });
    w.put(appKey("hello"), { ...app(w), formation: { web: 1, worker: 1 } });
    // Step 1: only the new worker starts; all three web instances keep running.
    expect(w.settle()).toEqual(["scale up v1"]);
    const worker = ofRelease(w, 1).find((a) => a.processType === "worker")!;
    expect(worker).toMatchObject({ index: 1, desired: "running" });
    expect(ofRelease(w, 1).filter((a) => a.desired === "draining")).toEqual([]);
    // Step 2: nothing drains while the worker is not up.
    w.report(worker, "starting");
    expect(w.settle()).toEqual([]);
    w.report(worker, "running");
    w.now += 1000;
    expect(w.settle()).toEqual(["scale down v1"]);
    const web = ofRelease(w, 1).filter((a) => a.processType === "web");
    expect(web.map((a) => [a.index, a.desired])).toEqual([
      [1, "running"],
      [2, "draining"],
      [3, "draining"],
    ]);
    w.now += 5000;
    expect(w.settle()).toEqual(["stop 2 drained instance(s)"]);
    expect(
      ofRelease(w, 1)
        .map((a) => `${a.processType}.${a.index}`)
        .sort(),
    ).toEqual(["web.1", "worker.1"]);
  });

  it("fills the lowest free index and spreads new instances to the emptier node", () => {
    const w = new World();
    const [one] = live(w, { web: 1 });
    expect(one!.node).toBe("node-a");
    w.put(appKey("hello"), { ...app(w), formation: { web: 3 } });
    w.settle();
    const web = ofRelease(w, 1).sort((a, b) => a.index - b.index);
    expect(web.map((a) => [a.index, a.node])).toEqual([
      [1, "node-a"],
      [2, "node-b"],
      [3, "node-a"],
    ]);
  });

  it("drains anyway when a new instance has not come up within the deploy timeout", () => {
    const w = new World();
    live(w, { web: 2 });
    w.put(appKey("hello"), { ...app(w), formation: { web: 1, worker: 1 } });
    w.settle();
    expect(w.plan().wakeAt).toBe(w.now + 30_000);
    w.now += 30_000;
    expect(w.settle()).toEqual(["scale down v1"]);
  });
});

describe("planDeploy: a node that dies", () => {
  /** node-b stops heartbeating: its lease expires and the controller notes when. */
  function kill(w: World, node: string): void {
    w.nodes = w.nodes.filter((n) => n !== node);
    w.downSince.set(node, w.now);
  }

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
      `lost web.${onB.index}: node node-b (gone 10 s)`,
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

describe("planDeploy: one-offs", () => {
  it("removes a finished one-off a minute after it ended, and leaves running ones alone", () => {
    const w = new World();
    live(w, { web: 1 });
    const base = ofRelease(w, 1)[0]!;
    const oneoff = (id: string): Assignment => ({
      ...base,
      id,
      kind: "oneoff",
      processType: "run",
      index: 1,
      command: "echo hi",
    });
    const done = oneoff("hello-run-1-aaaa");
    const busy = oneoff("hello-run-2-bbbb");
    w.put(assignmentKey(done.node, done.id), done);
    w.put(assignmentKey(busy.node, busy.id), busy);
    w.report(done, "exited", { exitCode: 0 });
    w.report(busy, "running");
    expect(w.settle()).toEqual([]);
    w.now += 60_000;
    expect(w.settle()).toEqual(["remove 1 finished one-off(s)"]);
    expect(w.assignments().map((a) => a.id)).toContain(busy.id);
    expect(w.assignments().map((a) => a.id)).not.toContain(done.id);
    expect(w.deleted).toEqual([assignmentKey(done.node, done.id), `instances/${done.id}`]);
  });

  it("removes a one-off whose node died a minute after it counted as lost", () => {
    const w = new World();
    live(w, { web: 1 });
    const base = ofRelease(w, 1)[0]!;
    const busy: Assignment = {
      ...base,
      id: "hello-run-3-cccc",
      node: "node-b",
      kind: "oneoff",
      processType: "run",
      index: 3,
      command: "sleep 600",
    };
    w.put(assignmentKey(busy.node, busy.id), busy);
    w.report(busy, "running");
    w.nodes = ["node-a"];
    w.downSince.set("node-b", w.now);
    w.now += NODE_LOST_MS;
    expect(w.settle()).toEqual([]);
    expect(w.plan().wakeAt).toBe(w.now + 60_000);
    w.now += 60_000;
    expect(w.settle()).toEqual(["remove 1 finished or lost one-off(s)"]);
    expect(w.assignments().map((a) => a.id)).not.toContain(busy.id);
  });
});
