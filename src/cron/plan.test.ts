import { describe, expect, it } from "vitest";
import type { InstanceStatus } from "../model/app.js";
import type { CronJob, CronRun } from "../model/cron.js";
import { planCron, type CronSnapshot } from "./plan.js";
import { parseSchedule, ticksBetween } from "./schedule.js";

const at = (iso: string): Date => new Date(iso);

describe("schedules (croner)", () => {
  it("takes 5 fields and 6 with seconds, in a time zone", () => {
    expect(parseSchedule("*/5 * * * *").next(at("2026-01-01T10:02:10Z"))?.toISOString()).toBe(
      "2026-01-01T10:05:00.000Z",
    );
    expect(parseSchedule("* * * * * *").next(at("2026-01-01T10:02:10.400Z"))?.toISOString()).toBe(
      "2026-01-01T10:02:11.000Z",
    );
    // 03:00 in Paris is 02:00 UTC in winter.
    expect(
      parseSchedule("0 3 * * *", "Europe/Paris").next(at("2026-01-01T00:00:00Z"))?.toISOString(),
    ).toBe("2026-01-01T02:00:00.000Z");
  });

  it("refuses a bad expression with croner's reason, naming the field", () => {
    expect(() => parseSchedule("61 * * * *")).toThrow(
      expect.objectContaining({ field: "schedule", message: expect.stringMatching(/minute: 61/) }),
    );
    expect(() => parseSchedule("* * * *")).toThrow(/has 4 field\(s\): give 5/);
    expect(() => parseSchedule("* * * * * * *")).toThrow(/has 7 field\(s\)/);
    expect(() => parseSchedule("* * * * *", "Mars/Base")).toThrow(
      expect.objectContaining({ field: "tz" }),
    );
  });

  it("counts the ticks in a span and finds the latest cheaply after a long one", () => {
    const every = parseSchedule("* * * * * *");
    const t = ticksBetween(every, at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:05.500Z"));
    expect([t.count, t.first?.toISOString(), t.latest?.toISOString()]).toEqual([
      5,
      "2026-01-01T00:00:01.000Z",
      "2026-01-01T00:00:05.000Z",
    ]);
    const long = ticksBetween(
      every,
      at("2026-01-01T00:00:00Z"),
      at("2026-01-02T00:00:00.200Z"),
      50,
    );
    expect([long.count, long.latest?.toISOString()]).toEqual([50, "2026-01-02T00:00:00.000Z"]);
  });
});

const job = (over: Partial<CronJob> = {}): CronJob => ({
  id: "tick",
  app: "hello",
  schedule: "* * * * *",
  tz: "UTC",
  command: ["node", "task.js"],
  overlap: false,
  timeoutMs: 600_000,
  createdAt: "2026-01-01T00:00:30.000Z",
  createdBy: "admin",
  ...over,
});
const run = (tick: string, over: Partial<CronRun> = {}) => ({
  value: { job: "tick", app: "hello", tick, status: "succeeded" as const, ...over },
  modRevision: 7,
});
const snap = (now: string, over: Partial<CronSnapshot> = {}): CronSnapshot => ({
  now: Date.parse(now),
  jobs: [job()],
  runs: new Map(),
  assignments: new Map(),
  instances: new Map(),
  ...over,
});

describe("the clock's plan", () => {
  it("waits for the first tick after the job was made, then acts on it once", () => {
    const before = planCron(snap("2026-01-01T00:00:59.000Z"));
    expect(before.due).toEqual([]);
    expect(new Date(before.wake).toISOString()).toBe("2026-01-01T00:01:00.000Z");
    const due = planCron(snap("2026-01-01T00:01:00.004Z"));
    expect(due.due.map((d) => [d.tick, d.skip, d.missed])).toEqual([
      ["2026-01-01T00:01:00.000Z", undefined, undefined],
    ]);
    // Recorded: nothing more until the next minute.
    const after = planCron(
      snap("2026-01-01T00:01:00.300Z", {
        runs: new Map([["hello/tick", [run("2026-01-01T00:01:00.000Z")]]]),
      }),
    );
    expect(after.due).toEqual([]);
    expect(new Date(after.wake).toISOString()).toBe("2026-01-01T00:02:00.000Z");
  });

  it("runs ticks missed without a leader once — the latest — and counts the others", () => {
    const p = planCron(
      snap("2026-01-01T00:07:10.000Z", {
        runs: new Map([["hello/tick", [run("2026-01-01T00:02:00.000Z")]]]),
      }),
    );
    expect(p.due).toHaveLength(1);
    expect(p.due[0]).toMatchObject({
      tick: "2026-01-01T00:07:00.000Z",
      missed: { count: 4, first: "2026-01-01T00:03:00.000Z" },
    });
  });

  it("skips a tick while the last run still runs, unless the job allows overlap", () => {
    const going = run("2026-01-01T00:01:00.000Z", {
      status: "started",
      instance: "hello-v2-cron-1-abcd",
      name: "cron.1",
      node: "n1",
      assignedAt: "2026-01-01T00:01:00.010Z",
    });
    const s = snap("2026-01-01T00:02:00.001Z", {
      runs: new Map([["hello/tick", [going]]]),
      assignments: new Map([["hello-v2-cron-1-abcd", "n1"]]),
    });
    expect(planCron(s).due[0]?.skip).toMatch(
      /the run of 2026-01-01T00:01:00.000Z \(cron.1\) still runs/,
    );
    expect(planCron({ ...s, jobs: [job({ overlap: true })] }).due[0]?.skip).toBeUndefined();
  });

  it("records a run's end from its instance, and stops one past its time limit", () => {
    const going = run("2026-01-01T00:01:00.000Z", {
      status: "started",
      instance: "i1",
      node: "n1",
      assignedAt: "2026-01-01T00:01:00.010Z",
    });
    const inst = (over: Partial<InstanceStatus>): InstanceStatus => ({
      id: "i1",
      app: "hello",
      release: 2,
      processType: "cron",
      index: 1,
      node: "n1",
      state: "running",
      restarts: 0,
      lastOutput: [],
      updatedAt: "2026-01-01T00:01:02.000Z",
      startedAt: "2026-01-01T00:01:00.200Z",
      ...over,
    });
    const base = {
      jobs: [job({ schedule: "0 * * * *", timeoutMs: 60_000 })],
      runs: new Map([["hello/tick", [going]]]),
      assignments: new Map([["i1", "n1"]]),
    };
    const ended = planCron(
      snap("2026-01-01T00:01:03.000Z", {
        ...base,
        instances: new Map([["i1", inst({ state: "exited", exitCode: 2 })]]),
      }),
    );
    expect(ended.updates[0]?.run).toMatchObject({
      status: "failed",
      exitCode: 2,
      startedAt: "2026-01-01T00:01:00.200Z",
      finishedAt: "2026-01-01T00:01:02.000Z",
    });
    const running = planCron(
      snap("2026-01-01T00:01:03.000Z", { ...base, instances: new Map([["i1", inst({})]]) }),
    );
    expect(running.updates[0]?.run).toMatchObject({
      status: "started",
      startedAt: "2026-01-01T00:01:00.200Z",
    });
    expect(new Date(running.wake).toISOString()).toBe("2026-01-01T00:02:00.010Z");
    const late = planCron(
      snap("2026-01-01T00:02:00.010Z", { ...base, instances: new Map([["i1", inst({})]]) }),
    );
    expect(late.updates[0]).toMatchObject({
      run: { status: "timeout", reason: expect.stringMatching(/time limit \(1m\)/) },
      stop: { node: "n1", id: "i1" },
    });
  });

  it("keeps the last 50 records: the oldest go with a new one", () => {
    const runs = Array.from({ length: 50 }, (_, i) =>
      run(new Date(Date.parse("2026-01-01T00:00:00Z") + i * 1000).toISOString()),
    );
    const p = planCron(
      snap("2026-01-01T00:00:50.100Z", {
        jobs: [job({ schedule: "* * * * * *", createdAt: "2025-12-31T00:00:00.000Z" })],
        runs: new Map([["hello/tick", runs]]),
      }),
    );
    expect(p.due[0]?.prune).toEqual(["cron/runs/hello/tick/2026-01-01T00:00:00.000Z"]);
  });
});
