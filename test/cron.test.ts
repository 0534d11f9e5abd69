/**
 * Scheduled jobs (issue 15) on a real `gantry up` with a real push: an every-second job runs
 * exactly once per tick, its output is in `gantry logs APP --ps cron` and its history in
 * `gantry cron APP`; a long job's next ticks are skipped and recorded so; one past its time limit
 * is stopped and recorded `timeout`; an invalid expression is refused with the reason.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CronJobView, CronRun } from "../src/model/cron.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { HELLO, createApp, eventually, localRepo, push, stopGantry } from "./helpers/paas.js";

const APP = "clock";
let g: GantryProcess;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-cron-"));
  g = await startGantry();
  const pushed = await push(await localRepo(work, HELLO), await createApp(g, APP));
  expect(pushed.code, pushed.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

async function runs(id: string): Promise<CronRun[]> {
  const r = await g.cli(["cron:runs", APP, id, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as CronRun[]).reverse(); // oldest first
}

const ENDED = ["succeeded", "failed", "timeout", "skipped", "missed"];

describe("scheduled jobs on a real server", () => {
  it("refuses an invalid expression with the reason, naming the field", async () => {
    const bad = await g.cli(["cron:add", APP, "61 * * * *", "--", "true"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/schedule "61 \* \* \* \*": .*minute: 61/);
    const zone = await g.cli(["cron:add", APP, "* * * * *", "--tz", "Nowhere/Land", "--", "true"]);
    expect(zone.stderr).toMatch(/tz "Nowhere\/Land" is not an IANA time zone/);
  });

  it("runs an every-second job exactly once per tick, output in logs, history in cron", async () => {
    const add = await g.cli([
      "cron:add",
      APP,
      "* * * * * *",
      "--name",
      "beat",
      "--",
      "node",
      "-e",
      "console.log('beat ' + process.env.GANTRY_RELEASE)",
    ]);
    expect(add.code, add.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 6500));
    const history = await eventually("the runs to end", async () => {
      const list = await runs("beat");
      const done = list.slice(0, -2); // the last tick or two may still run
      return done.length >= 4 && done.every((r) => ENDED.includes(r.status)) ? list : undefined;
    });
    // One record per tick, consecutive seconds, none twice; each run its own instance.
    const ticks = history.map((r) => Date.parse(r.tick));
    expect(new Set(ticks).size).toBe(ticks.length);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
    const started = history.filter((r) => r.instance !== undefined);
    expect(new Set(started.map((r) => r.instance)).size).toBe(started.length);
    const done = history.slice(0, -2);
    expect(done.filter((r) => r.status === "succeeded").length).toBeGreaterThanOrEqual(3);
    const late = (at: string | undefined, r: CronRun) => Date.parse(at!) - Date.parse(r.tick);
    const ok = done.filter((r) => r.status === "succeeded");
    console.log(
      `cron lateness (ms): assigned ${ok.map((r) => late(r.assignedAt, r)).join(" ")}; started ${ok.map((r) => late(r.startedAt, r)).join(" ")}`,
    );
    for (const r of ok) {
      expect(r.exitCode).toBe(0);
      // Lateness: the assignment within a second of the tick, the process too.
      expect(Date.parse(r.assignedAt!) - Date.parse(r.tick)).toBeLessThan(1000);
      expect(Date.parse(r.startedAt!) - Date.parse(r.tick)).toBeLessThan(2000);
    }
    const listed = await g.cli(["cron", APP]);
    expect(listed.stdout).toMatch(
      /beat\s+\* \* \* \* \* \*\s+UTC\s+\S+\s+node -e .*succeeded \(exit 0\)/,
    );
    expect((await g.cli(["cron:remove", APP, "beat"])).code).toBe(0);
    const logs = await g.cli(["logs", APP, "--ps", "cron", "-n", "300"]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/ cron\.\d+ beat \d+/);
    expect(logs.stdout).not.toMatch(/ web\.\d+ /);
  }, 90_000);

  it("skips ticks while a run goes on, and stops a run at its time limit", async () => {
    const add = await g.cli([
      "cron:add",
      APP,
      "*/2 * * * * *",
      "--name",
      "slow",
      "--timeout",
      "3s",
      "--",
      "sleep",
      "30",
    ]);
    expect(add.code, add.stderr).toBe(0);
    const list = await eventually(
      "a timeout after skips",
      async () => {
        const r = await runs("slow");
        return r.some((x) => x.status === "timeout") && r.some((x) => x.status === "skipped")
          ? r
          : undefined;
      },
      20_000,
    );
    expect((await g.cli(["cron:remove", APP, "slow"])).code).toBe(0);
    const first = list.find((r) => r.status === "timeout")!;
    expect(first.reason).toMatch(/longer than its time limit \(3s\)/);
    expect(Date.parse(first.finishedAt!) - Date.parse(first.assignedAt!)).toBeGreaterThanOrEqual(
      3000,
    );
    const skipped = list.find((r) => r.status === "skipped")!;
    expect(skipped.reason).toMatch(
      new RegExp(`the run of ${first.tick} \\(cron\\.\\d+\\) still runs`),
    );
    expect(skipped.instance).toBeUndefined();
    // The stopped run's process is gone: its instance is no longer running.
    await eventually("the timed-out instance to stop", async () => {
      const ps = await g.cli(["ps", APP, "--json"]);
      return !ps.stdout.includes(first.instance!);
    });
  }, 60_000);

  it("lists jobs with --json: next tick and last runs", async () => {
    const add = await g.cli([
      "cron:add",
      APP,
      "0 3 * * *",
      "--tz",
      "Europe/Paris",
      "--",
      "node",
      "task.js",
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/Added clock\/node-task-js: 0 3 \* \* \* \(Europe\/Paris\)/);
    const same = await g.cli([
      "cron:add",
      APP,
      "0 3 * * *",
      "--tz",
      "Europe/Paris",
      "--",
      "node",
      "task.js",
    ]);
    expect(same.stdout).toMatch(/Unchanged/);
    const other = await g.cli(["cron:add", APP, "0 4 * * *", "--", "node", "task.js"]);
    expect(other.stderr).toMatch(/already has a job "node-task-js".*pass another --name/);
    const json = JSON.parse((await g.cli(["cron", APP, "--json"])).stdout) as CronJobView[];
    const nightly = json.find((j) => j.id === "node-task-js")!;
    expect(nightly).toMatchObject({
      schedule: "0 3 * * *",
      tz: "Europe/Paris",
      overlap: false,
      timeoutMs: 3_600_000,
      runs: [],
    });
    expect(new Date(nightly.next!).getUTCHours()).toBe(2); // 03:00 Paris in winter
  });
});
