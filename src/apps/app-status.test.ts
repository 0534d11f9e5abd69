import { describe, expect, it } from "vitest";
import type { App, Assignment, Deploy, InstanceStatus } from "../model/app.js";
import { appStatuses } from "./app-status.js";

const app = (name: string, currentRelease: number): App =>
  ({ name, currentRelease, formation: {}, domains: [] }) as unknown as App;
const asg = (app: string, id: string, extra: Partial<Assignment> = {}): Assignment =>
  ({
    id,
    app,
    kind: "run",
    desired: "running",
    processType: "web",
    index: 1,
    ...extra,
  }) as Assignment;
const st = (id: string, state: InstanceStatus["state"]): InstanceStatus =>
  ({ id, state }) as InstanceStatus;
const dep = (app: string, status: Deploy["status"], release = 1): Deploy =>
  ({ app, release, previous: 0, status, startedAt: "2026-01-01T00:00:00Z", log: ["x"] }) as Deploy;

describe("appStatuses", () => {
  it("counts running and desired formation instances, not one-offs or draining ones", () => {
    const s = appStatuses(
      [app("a", 1)],
      [
        asg("a", "a-1"),
        asg("a", "a-2"),
        asg("a", "a-3", { kind: "oneoff" }),
        asg("a", "a-4", { desired: "draining" }),
      ],
      [st("a-1", "running"), st("a-2", "starting"), st("a-3", "running"), st("a-4", "running")],
      [],
    ).get("a")!;
    expect(s).toEqual({ state: "starting", running: 1, desired: 2 });
  });

  it("derives the state: new, deploying, crashed, failed, stopped, running", () => {
    const s = appStatuses(
      [app("n", 0), app("d", 1), app("c", 1), app("f", 1), app("z", 1), app("r", 1)],
      [asg("c", "c-1"), asg("f", "f-1"), asg("r", "r-1")],
      [st("c-1", "crashed"), st("f-1", "running"), st("r-1", "running")],
      [dep("d", "running", 2), dep("f", "failed", 2), dep("r", "succeeded")],
    );
    expect([...s.values()].map((v) => v.state)).toEqual([
      "new",
      "deploying",
      "crashed",
      "failed",
      "stopped",
      "running",
    ]);
    expect(s.get("r")!.deploy).toEqual({
      release: 1,
      status: "succeeded",
      startedAt: "2026-01-01T00:00:00Z",
    });
  });
});
