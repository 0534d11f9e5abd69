import { describe, expect, it } from "vitest";
import { DeploySchema, type Assignment } from "../model/app.js";
import {
  app,
  deploy,
  live,
  newRelease,
  ofRelease,
  release,
  World,
} from "../../test/helpers/plan-world.js";
import { describeReasons, QUIET_MS, type WaitReason } from "./plan-wait.js";

/** A world where v1 serves and v2 (web + worker) has just started deploying: its new instances. */
function deploying(formation: Record<string, number> = { web: 1 }): [World, Assignment[]] {
  const w = new World();
  live(w, formation);
  newRelease(w, 2, { processTypes: { web: "node server.js", worker: "node worker.js" } });
  w.settle();
  return [w, ofRelease(w, 2).sort((a, b) => a.id.localeCompare(b.id))];
}

/** The deploy's log lines that tell what it waits for. */
const waits = (w: World): string[] =>
  deploy(w).log.filter((l) => /^(still )?waiting (for|\()/.test(l));

describe("planDeploy: a deploy says what it waits for", () => {
  it("says nothing while a healthy deploy moves along", () => {
    const [w, [a]] = deploying();
    w.now += 500;
    w.report(a!, "starting");
    w.settle();
    w.now += 700;
    w.report(a!, "running");
    w.pass(a!);
    w.settle();
    expect(release(w, 2).status).toBe("active");
    expect(waits(w)).toEqual([]);
  });

  it("tells a slow start after a quiet spell, then reminds at 5 s, 10 s, 20 s — not every tick", () => {
    const [w, [a]] = deploying();
    w.report(a!, "starting");
    expect(w.settle()).toEqual([]);
    expect(w.plan().wakeAt).toBe(w.now + QUIET_MS);
    const start = w.now;
    // The controller looks whenever it is woken; here, every 100 ms for 29 s.
    for (let t = 100; t < 29_000; t += 100) {
      w.now = start + t;
      w.settle();
    }
    expect(waits(w)).toEqual([
      "waiting for web.1: starting (2 s)",
      "still waiting (5 s) for web.1: starting (7 s)",
      "still waiting (10 s) for web.1: starting (12 s)",
      "still waiting (20 s) for web.1: starting (22 s)",
    ]);
    expect(deploy(w).status).toBe("running");
  });

  it("tells an agent that has not started the instance, and a node that is down", () => {
    const [w] = deploying({ web: 2 });
    w.now += QUIET_MS;
    w.settle();
    expect(waits(w)).toEqual([
      "waiting for web.1: not started by node node-a yet (2 s); web.2: not started by node node-b yet (2 s)",
    ]);
    w.nodes = ["node-a"];
    w.now += 100;
    w.settle();
    // Something went wrong: told at once, not after a quiet spell.
    expect(waits(w).at(-1)).toBe(
      "waiting for web.1: not started by node node-a yet (2 s); web.2: its node node-b is down",
    );
  });

  it("tells an instance its agent is still preparing (unpacking, fetching its config)", () => {
    const [w, [a]] = deploying();
    w.report(a!, "starting");
    delete w.instances.get(a!.id)!.startedAt;
    w.now += 3000;
    w.settle();
    expect(waits(w)).toEqual(["waiting for web.1: being prepared by node node-a (3 s)"]);
  });

  it("tells a failing health check at once, with the status it answered", () => {
    const [w, [a]] = deploying();
    w.report(a!, "running", { port: 20_001 });
    w.pass(
      a!,
      "critical",
      "HTTP GET http://127.0.0.1:20001/: 503 Service Unavailable Output: busy",
    );
    w.settle();
    expect(waits(w)).toEqual([
      "waiting for web.1: failing its health check on / with status 503 Service Unavailable",
    ]);
    // The same failure again is not news; another status is.
    w.now += 1000;
    expect(w.settle()).toEqual([]);
    w.pass(a!, "critical", "HTTP GET http://127.0.0.1:20001/: 500 Internal Server Error");
    w.settle();
    expect(waits(w).at(-1)).toBe(
      "waiting for web.1: failing its health check on / with status 500 Internal Server Error",
    );
  });

  it("a web instance not listening yet is starting, not failing", () => {
    const [w, [a]] = deploying();
    w.report(a!, "starting", { port: 20_001 });
    w.pass(
      a!,
      "critical",
      "HTTP GET http://127.0.0.1:20001/: connect ECONNREFUSED 127.0.0.1:20001",
    );
    expect(w.settle()).toEqual([]);
    w.now += QUIET_MS;
    w.settle();
    expect(waits(w)).toEqual([
      "waiting for web.1: starting, not answering on port 20001 yet (2 s)",
    ]);
  });

  it("waits through one crash, saying when the agent restarts it; a second crash fails the deploy", () => {
    const [w, [a]] = deploying();
    w.report(a!, "crashed", {
      exitCode: 1,
      restarts: 1,
      lastOutput: ["booting", "Error: listen EADDRINUSE: address already in use :::20001"],
      restartAt: new Date(w.now + 1000).toISOString(),
    });
    w.settle();
    expect(deploy(w).status).toBe("running");
    expect(waits(w)).toEqual([
      'waiting for web.1: crashed (exit code 1): "Error: listen EADDRINUSE: address already in use :::20001"; restarting in 1 s',
    ]);
    // Restarted: it says so (with what the crash printed) once it has been quiet for a while.
    w.now += 1000;
    w.report(a!, "starting", {
      restarts: 1,
      lastOutput: ["Error: listen EADDRINUSE: address already in use :::20001"],
    });
    w.settle();
    w.now += QUIET_MS;
    w.settle();
    expect(waits(w).at(-1)).toBe(
      'waiting for web.1: restarted after a crash: "Error: listen EADDRINUSE: address already in use :::20001", starting (2 s)',
    );
    w.report(a!, "crashed", {
      exitCode: 1,
      restarts: 2,
      lastOutput: ["Error: still broken"],
      restartAt: new Date(w.now + 2000).toISOString(),
    });
    expect(w.settle()).toEqual(["v2 failed"]);
    expect(release(w, 2).error).toContain("web.1 crashed, exit code 1, restarted 2 times");
    expect(app(w).currentRelease).toBe(1);
  });

  it("fails at once on a crash the agent will not restart (no restartAt)", () => {
    const [w, [a]] = deploying();
    w.report(a!, "crashed", {
      exitCode: null,
      lastOutput: ["gantry: the artifact was refused: bad path"],
    });
    expect(w.settle()).toEqual(["v2 failed"]);
  });

  it("tells an agent that cannot get the instance ready, and when it tries again", () => {
    const [w, [a]] = deploying();
    w.report(a!, "starting", {
      lastOutput: ["gantry: cannot prepare the instance yet: fetch failed"],
      restartAt: new Date(w.now + 4000).toISOString(),
    });
    w.settle();
    expect(waits(w)).toEqual([
      'waiting for web.1: could not be started yet: "gantry: cannot prepare the instance yet: fetch failed"; trying again in 4 s',
    ]);
  });

  it("tells an instance whose port was taken and that moved to another, at once", () => {
    const [w, [a]] = deploying();
    w.report(a!, "starting", {
      port: 20_007,
      portMoved: { from: 20_003, to: 20_007, at: new Date(w.now).toISOString() },
    });
    w.settle();
    expect(waits(w)).toEqual([
      "waiting for web.1: its port 20003 was taken by another program: moved to 20007, starting (0 s)",
    ]);
    expect(deploy(w).status).toBe("running");
  });

  it("waits for a worker through a crash, and for its first second up", () => {
    const [w, [web, worker]] = deploying({ web: 1, worker: 1 });
    expect(worker!.processType).toBe("worker");
    w.pass(web!);
    w.report(worker!, "crashed", {
      exitCode: 2,
      restarts: 1,
      lastOutput: [],
      restartAt: new Date(w.now + 1500).toISOString(),
    });
    w.settle();
    expect(waits(w)).toEqual(["waiting for worker.1: crashed (exit code 2); restarting in 2 s"]);
    w.now += 1500;
    w.report(worker!, "running", { restarts: 1 });
    w.now += 2000;
    w.settle();
    expect(release(w, 2).status).toBe("active");
  });

  it("keeps what it told within the deploy record's bounds, for a hundred instances", () => {
    const w = new World();
    w.nodes = ["node-with-a-rather-long-name-a", "node-with-a-rather-long-name-b"];
    live(w, { web: 100 });
    newRelease(w, 2);
    w.settle();
    w.now += QUIET_MS;
    w.settle();
    expect(waits(w)).toHaveLength(1);
    expect(waits(w)[0]).toContain("web.11 and 44 more: not started by node");
    expect(DeploySchema.safeParse(deploy(w)).success).toBe(true);
  });

  it("reminds about an hour-long wait a handful of times, not hundreds", () => {
    const [w, [a]] = deploying();
    w.put("apps/hello", { ...app(w), deployTimeoutMs: 3_600_000 });
    w.report(a!, "starting");
    for (let i = 0; i < 3600; i++) {
      w.now += 1000;
      w.settle();
    }
    expect(waits(w).length).toBeGreaterThan(5);
    expect(waits(w).length).toBeLessThan(12);
    expect(waits(w).at(-1)).toMatch(/^still waiting \(\d+ s\) for web\.1: starting/);
  });
});

describe("describeReasons", () => {
  const r = (name: string, key: string, text = key): WaitReason => ({
    name,
    key,
    text,
    urgent: false,
  });

  it("puts instances with one reason together and keeps a long list short", () => {
    expect(
      describeReasons([r("web.1", "starting"), r("web.2", "check:503"), r("web.3", "starting")]),
    ).toBe("web.1, web.3: starting; web.2: check:503");
    const many = Array.from({ length: 9 }, (_, i) => r(`web.${i + 1}`, "starting"));
    expect(describeReasons(many)).toBe(
      "web.1, web.2, web.3, web.4, web.5, web.6 and 3 more: starting",
    );
    const kinds = ["a", "b", "c", "d", "e", "f"].map((k, i) => r(`web.${i + 1}`, k));
    expect(describeReasons(kinds)).toBe(
      "web.1: a; web.2: b; web.3: c; web.4: d; and 2 more reason(s)",
    );
  });
});
