import { describe, expect, it } from "vitest";
import { assignmentKey, appKey } from "../apps/keys.js";
import type { Assignment } from "../model/app.js";
import {
  app,
  ART2,
  deploy,
  live,
  newApp,
  newRelease,
  ofRelease,
  release,
  T0,
  World,
} from "../../test/helpers/plan-world.js";
import { NODE_LOST_MS } from "./deploy-plan.js";
import { QUIET_MS } from "./plan-wait.js";

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
    // Nothing more to do until the instances report, but time is a reason to look again: to say
    // what the deploy waits for once it has been quiet for a while (then at the deadline).
    expect(w.plan()).toEqual({ wakeAt: T0 + QUIET_MS });
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
