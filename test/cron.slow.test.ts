/**
 * A job every minute for a few minutes on a real `gantry up` (issue 15's proof): exactly one run
 * per minute tick, each its own one-off, each exit code recorded, output in the app's log.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CronRun } from "../src/model/cron.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { HELLO, createApp, eventually, localRepo, push, stopGantry } from "./helpers/paas.js";

const APP = "minutely";
let g: GantryProcess;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-cron-slow-"));
  g = await startGantry();
  const pushed = await push(await localRepo(work, HELLO), await createApp(g, APP));
  expect(pushed.code, pushed.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

describe("a job every minute", () => {
  it("runs exactly once per minute tick for three minutes", async () => {
    const add = await g.cli([
      "cron:add",
      APP,
      "* * * * *",
      "--name",
      "minute",
      "--",
      "sh",
      "-c",
      "echo minute $(date -u +%H:%M:%S); exit 3",
    ]);
    expect(add.code, add.stderr).toBe(0);
    const runs = await eventually(
      "three ended runs",
      async () => {
        const r = await g.cli(["cron:runs", APP, "minute", "--json"]);
        const list = (JSON.parse(r.stdout) as CronRun[]).reverse();
        return list.filter((x) => x.status !== "started").length >= 3 ? list : undefined;
      },
      250_000,
    );
    const ticks = runs.map((r) => Date.parse(r.tick));
    for (const t of ticks) expect(t % 60_000).toBe(0);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(60_000);
    const ended = runs.filter((r) => r.status !== "started");
    for (const r of ended)
      expect(r).toMatchObject({ status: "failed", exitCode: 3, reason: "exit code 3" });
    expect(new Set(runs.map((r) => r.instance)).size).toBe(runs.length);
    console.log(
      `every minute: lateness (ms) assigned ${runs.map((r) => Date.parse(r.assignedAt!) - Date.parse(r.tick)).join(" ")}; started ${ended.map((r) => Date.parse(r.startedAt!) - Date.parse(r.tick)).join(" ")}`,
    );
    const table = await g.cli(["cron", APP]);
    expect(table.stdout).toMatch(/minute\s+\* \* \* \* \*\s+UTC .*failed \(exit 3\)/);
    const logs = await g.cli(["logs", APP, "--ps", "cron", "-n", "100"]);
    expect(logs.stdout.match(/ cron\.\d+ minute \d\d:\d\d:\d\d/g)?.length).toBeGreaterThanOrEqual(
      3,
    );
  }, 300_000);
});
