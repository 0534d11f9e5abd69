import { describe, expect, it } from "vitest";
import { appKey, scaleKey } from "../apps/keys.js";
import type { Formation, Scale } from "../model/app.js";
import { allPass, app, live, newRelease, ofRelease, World } from "../../test/helpers/plan-world.js";
import { QUIET_MS } from "./plan-wait.js";

/** What `ps:scale` writes: the new formation, and a scaling record to carry it out. */
function scaling(w: World, changes: Formation): void {
  w.put(appKey("hello"), { ...app(w), formation: { ...app(w).formation, ...changes } });
  const rec: Scale = {
    app: "hello",
    id: "0123456789ab",
    changes,
    status: "running",
    startedAt: new Date(w.now).toISOString(),
    log: ["scaling hello to …"],
  };
  w.put(scaleKey("hello"), rec);
}

const rec = (w: World): Scale => w.get<Scale>(scaleKey("hello"))!;

describe("planDeploy: a ps:scale, told in its record", () => {
  it("tells what it starts, what it waits for, and ends when the formation runs", () => {
    const w = new World();
    live(w, { web: 1 });
    scaling(w, { web: 2, worker: 1 });
    expect(w.settle()).toEqual(["scale up v1"]);
    expect(rec(w).log.at(-1)).toBe("scaling: starting web.2 on node-b, worker.1 on node-a");
    const [web2, worker] = ofRelease(w, 1).filter(
      (a) => a.index === 2 || a.processType === "worker",
    );
    w.report(web2!, "starting");
    w.report(worker!, "starting");
    w.now += QUIET_MS;
    expect(w.settle()).toEqual(["scaling progress of hello"]);
    expect(rec(w).log.at(-1)).toBe("waiting for web.2, worker.1: starting (2 s)");
    w.pass(web2!);
    w.report(worker!, "running");
    w.now += 1000;
    expect(w.settle()).toEqual(["scaling of hello done"]);
    expect(rec(w)).toMatchObject({ status: "succeeded", finishedAt: expect.any(String) });
    expect(rec(w).log.at(-1)).toBe("hello runs web=2 worker=1");
    expect(w.settle()).toEqual([]);
  });

  it("scaling down ends once the surplus drains", () => {
    const w = new World();
    live(w, { web: 3 });
    scaling(w, { web: 1 });
    expect(w.settle()).toEqual(["scale down v1", "scaling of hello done"]);
    expect(rec(w).log.slice(-2)).toEqual([
      "scaling: draining web.2, web.3 for 5 s",
      "hello runs web=1 worker=0",
    ]);
  });

  it("waits while a release deploys, then carries on with the new release", () => {
    const w = new World();
    live(w, { web: 1 });
    newRelease(w, 2);
    w.settle();
    scaling(w, { web: 2 });
    expect(w.settle()).toEqual([]);
    expect(rec(w).status).toBe("running");
    allPass(w, 2);
    expect(rec(w).log.at(-1)).toBe("scaling: starting web.2 on node-b");
    allPass(w, 2);
    expect(rec(w).status).toBe("succeeded");
    expect(ofRelease(w, 2).filter((a) => a.desired === "running")).toHaveLength(2);
  });

  it("fails at the deploy timeout saying why; the formation is carried on regardless", () => {
    const w = new World();
    live(w, { web: 1 });
    scaling(w, { web: 2 });
    w.settle();
    const web2 = ofRelease(w, 1).find((a) => a.index === 2)!;
    w.report(web2, "running", { port: 20_002 });
    w.pass(web2, "critical", "HTTP GET http://127.0.0.1:20002/: 502 Bad Gateway");
    w.settle();
    expect(rec(w).log.at(-1)).toBe(
      "waiting for web.2: failing its health check on / with status 502 Bad Gateway",
    );
    w.now += 30_000;
    expect(w.settle()).toEqual(["scaling of hello failed"]);
    expect(rec(w)).toMatchObject({
      status: "failed",
      error:
        "not done within 30 s: web.2: failing its health check on / with status 502 Bad Gateway",
    });
    expect(ofRelease(w, 1).map((a) => a.desired)).toEqual(["running", "running"]);
  });

  it("says so when no node can take a new instance", () => {
    const w = new World();
    live(w, { web: 1 });
    w.draining = new Set(["node-a", "node-b"]);
    scaling(w, { web: 2 });
    expect(w.settle()).toEqual(["scaling progress of hello"]);
    expect(rec(w).log.at(-1)).toBe("waiting for web.2: no live node can take it");
  });

  it("ends at once for an app with no release running yet", () => {
    const w = new World();
    live(w, { web: 1 });
    w.put(appKey("hello"), { ...app(w), currentRelease: 0 });
    scaling(w, { web: 2 });
    expect(w.settle()).toEqual(["scaling of hello done"]);
    expect(rec(w).log.at(-1)).toBe("no release runs yet: the formation applies to the next deploy");
  });
});
