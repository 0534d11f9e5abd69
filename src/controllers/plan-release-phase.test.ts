import { describe, expect, it } from "vitest";
import { effectiveFormation } from "../apps/formation.js";
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
  World,
} from "../../test/helpers/plan-world.js";
import { NODE_LOST_MS, ONEOFF_KEEP_MS } from "./deploy-plan.js";
import { QUIET_MS } from "./plan-wait.js";

const TYPES = { web: "node server.js", release: "node migrate.js" };

/** v1 (web=2) serves; v2, with a release command, is pushed. */
function pushWithPhase(w: World): Assignment[] {
  const old = live(w);
  newRelease(w, 2, { artifact: ART2, processTypes: TYPES });
  return old;
}

const phaseOf = (w: World, v = 2): Assignment | undefined =>
  ofRelease(w, v).find((a) => a.processType === "release");
const webOf = (w: World, v = 2): Assignment[] =>
  ofRelease(w, v).filter((a) => a.processType === "web");

describe("planDeploy: the release phase", () => {
  it("starts with a one-off of the release running its command, and no instance", () => {
    const w = new World();
    pushWithPhase(w);
    const p = w.plan();
    expect(p.transition?.summary).toBe("start the release phase of v2");
    w.apply(p.transition!);
    expect(ofRelease(w, 2)).toEqual([
      expect.objectContaining({
        id: expect.stringMatching(/^hello-v2-release-1-s\d{3}$/),
        processType: "release",
        index: 1,
        kind: "oneoff",
        command: "node migrate.js",
        artifact: ART2,
        desired: "running",
      }),
    ]);
    // The release's own config: the assignment names no other.
    expect(phaseOf(w)!.config).toBeUndefined();
    expect(release(w, 2)).toMatchObject({
      status: "deploying",
      releasePhase: { status: "running", command: "node migrate.js", instance: "release.1" },
    });
    expect(deploy(w)).toMatchObject({ release: 2, status: "running" });
    expect(deploy(w).log).toContain(
      `running the release phase: node migrate.js (release.1 on ${phaseOf(w)!.node})`,
    );
    // Planned again, nothing more starts: one phase per release.
    expect(w.settle()).toEqual([]);
    expect(ofRelease(w, 2)).toHaveLength(1);
  });

  it("is one guarded step: a second controller's plan of the same snapshot is refused", () => {
    const w = new World();
    pushWithPhase(w);
    const a = w.plan().transition!;
    const b = w.plan().transition!;
    w.apply(a);
    expect(() => w.apply(b)).toThrow("stale transition");
    expect(ofRelease(w, 2)).toHaveLength(1);
  });

  it("exit 0: the phase succeeded and the formation is placed in the same step; the deploy goes on", () => {
    const w = new World();
    pushWithPhase(w);
    w.settle();
    const phase = phaseOf(w)!;
    w.report(phase, "running");
    w.now += 3000;
    w.report(phase, "exited", { exitCode: 0, lastOutput: ["migrating", "done: 3 tables"] });
    const p = w.plan();
    expect(p.transition?.summary).toBe("v2's release phase succeeded");
    w.apply(p.transition!);
    expect(release(w, 2).releasePhase).toMatchObject({
      status: "succeeded",
      exitCode: 0,
      finishedAt: new Date(w.now).toISOString(),
    });
    expect(webOf(w)).toHaveLength(2);
    expect(deploy(w).log).toEqual(
      expect.arrayContaining([
        "release.1: migrating",
        "release.1: done: 3 tables",
        "the release phase succeeded (release.1, 3 s)",
      ]),
    );
    for (const a of webOf(w)) {
      w.report(a, "running");
      w.pass(a);
    }
    expect(w.settle()).toEqual(["v2 is live"]);
    expect(app(w).currentRelease).toBe(2);
    expect(release(w, 2).status).toBe("active");
    // The one-off goes a minute after it ended, like any finished one-off.
    expect(phaseOf(w)).toBeDefined();
    w.now += ONEOFF_KEEP_MS;
    w.settle();
    expect(phaseOf(w)).toBeUndefined();
  });

  it("gives the instances the deploy timeout from when the phase ended, not from the deploy's start", () => {
    const w = new World();
    pushWithPhase(w);
    w.settle();
    w.now += 25_000; // the phase took most of the 30 s deploy timeout
    w.report(phaseOf(w)!, "exited", { exitCode: 0 });
    w.settle();
    w.now += 10_000; // 35 s after the deploy started, 10 s after the instances were placed
    w.settle();
    expect(deploy(w).status).toBe("running");
    expect(release(w, 2).status).toBe("deploying");
  });

  it("non-zero exit: the release fails with its last line, no instance of it ever started, v1 serves", () => {
    const w = new World();
    const old = pushWithPhase(w);
    w.settle();
    w.report(phaseOf(w)!, "exited", {
      exitCode: 1,
      lastOutput: ["connecting", "Error: relation users exists", ""],
    });
    expect(w.settle()).toEqual(["v2 failed"]);
    const reason = "release phase failed (exit 1): Error: relation users exists";
    expect(release(w, 2)).toMatchObject({
      status: "failed",
      error: reason,
      releasePhase: { status: "failed", exitCode: 1, error: reason },
    });
    expect(deploy(w)).toMatchObject({ status: "failed", error: reason });
    expect(deploy(w).log).toContain("release.1: Error: relation users exists");
    expect(deploy(w).log.at(-1)).toBe(`deploy of v2 failed: ${reason}; v1 keeps serving`);
    expect(webOf(w)).toEqual([]);
    expect(app(w).currentRelease).toBe(1);
    expect(ofRelease(w, 1).map((a) => a.desired)).toEqual(old.map(() => "running"));
    // The finished one-off is left for `ps` to show, then goes like the others.
    expect(phaseOf(w)!.desired).toBe("running");
    w.now += ONEOFF_KEEP_MS;
    w.settle();
    expect(phaseOf(w)).toBeUndefined();
  });

  it("a one-off the agent will not start (no restartAt) fails the phase", () => {
    const w = new World();
    pushWithPhase(w);
    w.settle();
    w.report(phaseOf(w)!, "crashed", {
      exitCode: null,
      lastOutput: ["gantry: the artifact was refused: bad sha"],
    });
    w.settle();
    expect(release(w, 2)).toMatchObject({
      status: "failed",
      error:
        "release phase failed: release.1 could not be started: gantry: the artifact was refused: bad sha",
    });
    expect(app(w).currentRelease).toBe(1);
  });

  it("its node lost: the phase fails once the node counts as lost", () => {
    const w = new World();
    pushWithPhase(w);
    w.settle();
    const phase = phaseOf(w)!;
    w.report(phase, "running");
    w.nodes = w.nodes.filter((n) => n !== phase.node);
    w.downSince.set(phase.node, w.now);
    w.settle();
    expect(release(w, 2).status).toBe("deploying");
    expect(w.plan().wakeAt).toBeLessThanOrEqual(w.now + NODE_LOST_MS);
    w.now += NODE_LOST_MS;
    w.settle();
    expect(release(w, 2)).toMatchObject({
      status: "failed",
      error: `release phase failed: release.1 was running on node ${phase.node}, which went down; how it ended is unknown`,
    });
    expect(app(w).currentRelease).toBe(1);
  });

  it("the time limit (App.releaseTimeoutMs): the one-off is stopped and the release fails", () => {
    const w = new World();
    live(w);
    w.put("apps/hello", { ...app(w), releaseTimeoutMs: 60_000 });
    newRelease(w, 2, { artifact: ART2, processTypes: TYPES });
    w.settle();
    const started = w.now;
    const phase = phaseOf(w)!;
    w.report(phase, "running");
    w.settle();
    // Only time decides now: a wake-up at the limit (or earlier, for a progress line).
    const wake = w.plan().wakeAt!;
    expect(wake).toBeGreaterThan(w.now);
    expect(wake).toBeLessThanOrEqual(started + 60_000);
    w.now = started + 60_000 - 1;
    w.settle();
    expect(release(w, 2).status).toBe("deploying");
    w.now += 1;
    w.settle();
    expect(release(w, 2)).toMatchObject({
      status: "failed",
      error: "release phase timed out: release.1 did not finish within 60 s, so it was stopped",
    });
    expect(phaseOf(w)!.desired).toBe("stopped");
    expect(webOf(w)).toEqual([]);
    expect(app(w).currentRelease).toBe(1);
  });

  it("a release abandoned while its phase runs: the one-off is stopped, the phase failed", () => {
    const w = new World();
    pushWithPhase(w);
    w.settle();
    w.report(phaseOf(w)!, "running");
    w.put("releases/hello/00000002", {
      ...release(w, 2),
      status: "abandoned",
      error: "its push did not complete",
    });
    w.settle();
    expect(release(w, 2)).toMatchObject({
      status: "abandoned",
      releasePhase: { status: "failed", error: "abandoned: its push did not complete" },
    });
    expect(phaseOf(w)!.desired).toBe("stopped");
    expect(deploy(w).status).toBe("failed");
    expect(app(w).currentRelease).toBe(1);
  });

  it("says what it waits for: the one-off not started yet, then running, with reminders", () => {
    const w = new World();
    pushWithPhase(w);
    w.settle();
    expect(w.plan()).toEqual({ wakeAt: w.now + QUIET_MS });
    w.now += QUIET_MS;
    w.settle();
    expect(deploy(w).log.at(-1)).toMatch(
      /^waiting for release\.1: not started by node node-\w yet/,
    );
    w.report(phaseOf(w)!, "running");
    w.now += QUIET_MS;
    w.settle();
    expect(deploy(w).log.at(-1)).toMatch(/^waiting for release\.1: running on node-\w \(2 s\)$/);
    w.now += 5000;
    w.settle();
    expect(deploy(w).log.at(-1)).toMatch(/^still waiting \(5 s\) for release\.1: running/);
  });

  it("runs for every release that has the command: a first deploy and a config change alike", () => {
    const w = new World();
    newApp(w);
    newRelease(w, 1, { processTypes: TYPES });
    w.settle();
    expect(ofRelease(w, 1).map((a) => a.processType)).toEqual(["release"]);
    w.report(phaseOf(w, 1)!, "exited", { exitCode: 0 });
    w.settle();
    expect(deploy(w).log).toContain("the release phase succeeded (release.1, 0 s)");
    for (const a of webOf(w, 1)) {
      w.report(a, "running");
      w.pass(a);
    }
    w.settle();
    expect(app(w).currentRelease).toBe(1);
    // v2: same code, new config: its phase runs again, as release.2 (release.1 is still kept).
    newRelease(w, 2, { processTypes: TYPES, configVersion: 2 });
    w.settle();
    expect(phaseOf(w, 2)).toMatchObject({ index: 2, release: 2 });
    expect(release(w, 2).releasePhase?.instance).toBe("release.2");
  });

  it("a release without the command deploys as before; formation defaults leave one-off types out", () => {
    const w = new World();
    newApp(w, { formation: {} });
    newRelease(w, 1, { processTypes: { web: "a" } });
    w.settle();
    expect(ofRelease(w, 1).map((a) => a.processType)).toEqual(["web"]);
    expect(release(w, 1).releasePhase).toBeUndefined();
    expect(
      effectiveFormation(
        { release: 2 },
        { web: "a", release: "b", test: "c", cron: "d", worker: "e" },
      ),
    ).toEqual({ web: 1, worker: 0 });
  });
});
