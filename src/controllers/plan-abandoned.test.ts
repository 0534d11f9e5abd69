/** The deploy planner and abandoned releases (docs/apps.md, "An interrupted push"). */
import { describe, expect, it } from "vitest";
import { releaseKey, type Release } from "../model/app.js";
import {
  allPass,
  app,
  ART2,
  deploy,
  live,
  newRelease,
  ofRelease,
  release,
  World,
} from "../../test/helpers/plan-world.js";

const abandon = (w: World, v: number, error: string): void =>
  w.put(releaseKey("hello", v), { ...release(w, v), status: "abandoned", error } as Release);

describe("planDeploy: an abandoned release", () => {
  it("ends its deploy: its new instances go, the release that serves keeps serving", () => {
    const w = new World();
    const old = live(w);
    newRelease(w, 2, { artifact: ART2 });
    w.settle();
    expect(ofRelease(w, 2)).toHaveLength(2);
    expect(release(w, 2).status).toBe("deploying");

    abandon(w, 2, "the push of bbbbbbb to main did not complete (main is at aaaaaaa)");
    // Its instances may even pass now: nothing of it goes live.
    for (const a of ofRelease(w, 2)) {
      w.report(a, "running");
      w.pass(a);
    }
    expect(w.settle()).toEqual(["v2 failed"]);
    expect(ofRelease(w, 2)).toEqual([]);
    expect(release(w, 2)).toMatchObject({ status: "abandoned" });
    expect(app(w).currentRelease).toBe(1);
    expect(ofRelease(w, 1).map((a) => [a.id, a.desired])).toEqual(
      old.map((a) => [a.id, "running"]),
    );
    expect(deploy(w)).toMatchObject({ release: 2, status: "failed" });
    expect(deploy(w).log.at(-1)).toBe(
      "deploy of v2 failed: abandoned: the push of bbbbbbb to main did not complete (main is at aaaaaaa); v1 keeps serving",
    );
  });

  it("never starts one that was abandoned while it waited", () => {
    const w = new World();
    live(w);
    newRelease(w, 2, { artifact: ART2 });
    abandon(w, 2, "gone");
    expect(w.settle()).toEqual([]);
    expect(ofRelease(w, 2)).toEqual([]);
  });

  it("is replaced by the release that restores the one before, whose success drains it", () => {
    const w = new World();
    live(w);
    newRelease(w, 2, { artifact: ART2 });
    w.settle();
    allPass(w, 2);
    expect(app(w).currentRelease).toBe(2);

    abandon(w, 2, "the push did not complete");
    newRelease(w, 3, { description: "restored v1: the push of bbbbbbb did not complete" });
    w.settle();
    allPass(w, 3);
    expect(app(w).currentRelease).toBe(3);
    expect(release(w, 3).status).toBe("active");
    // Still abandoned (not superseded): `gantry releases` keeps saying what happened to it.
    expect(release(w, 2).status).toBe("abandoned");
    expect(ofRelease(w, 2).every((a) => a.desired === "draining")).toBe(true);
  });
});
