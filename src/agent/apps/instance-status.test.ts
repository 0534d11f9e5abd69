import { describe, expect, it } from "vitest";
import type { Assignment } from "../../model/app.js";
import { InstanceStatusSchema } from "../../model/app.js";
import { instanceStatus, type StatusFacts } from "./instance-status.js";

const assignment: Assignment = {
  id: "web-1-abc",
  app: "shop",
  release: 3,
  processType: "web",
  index: 1,
  node: "n1",
  artifact: "a".repeat(64),
  command: "node server.js",
  kind: "run",
  desired: "running",
  healthPath: "/",
  createdAt: "2026-12-07T00:00:00.000Z",
};

const crashed: StatusFacts = {
  assignment,
  node: "n1",
  address: "10.0.0.5",
  state: "crashed",
  handle: undefined,
  port: 20013,
  restarts: 2,
  exitCode: 1,
  lastOutput: ["boom", "x".repeat(2000)],
  startedAt: "2026-12-07T00:00:01.000Z",
  portMoved: { from: 20012, to: 20013, at: "2026-12-07T00:00:02.000Z" },
  restartAt: Date.parse("2026-12-07T00:00:05.000Z"),
};

describe("an instance's status", () => {
  it("explains a crashed instance: its output (long lines cut), the port move, when it restarts", () => {
    const s = InstanceStatusSchema.parse(instanceStatus(crashed));
    expect(s).toMatchObject({ state: "crashed", port: 20013, address: "10.0.0.5", exitCode: 1 });
    expect(s.lastOutput[0]).toBe("boom");
    expect(s.lastOutput[1]).toHaveLength(1024);
    expect(s.portMoved).toEqual(crashed.portMoved);
    expect(s.restartAt).toBe("2026-12-07T00:00:05.000Z");
    expect(s.pid).toBeUndefined();
  });

  it("says nothing to explain about a running one", () => {
    const handle = { driver: "process", id: "web-1-abc", pid: 4242, startedAt: crashed.startedAt! };
    const s = instanceStatus({ ...crashed, state: "running", handle, exitCode: undefined });
    expect(s.pid).toBe(4242);
    expect(s.lastOutput).toEqual([]);
    expect(s.portMoved).toBeUndefined();
    expect(s.restartAt).toBeUndefined();
    expect("exitCode" in s).toBe(false);
  });
});
