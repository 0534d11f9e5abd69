/**
 * The release phase (issue 15) on a real `gantry up`, with a real git push: a Procfile
 * `release: node migrate.js` runs exactly once per release — a push's and a config change's —
 * with that release's config, before its web instance starts (web reads what it wrote); the
 * pusher sees its output; a failing one fails the release and the old one keeps serving.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReleaseView } from "../src/model/app-views.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import {
  createApp,
  eventually,
  get,
  localRepo,
  push,
  routerPort,
  stopGantry,
} from "./helpers/paas.js";
import { migrations, RELEASE_PHASE_APP } from "./helpers/release-phase-app.js";

const APP = "mig";
const HOST = `${APP}.localhost`;

let g: GantryProcess;
let work: string;
let port: number;
let remote: string;
let log: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-release-phase-"));
  log = join(work, "migrations.log");
  g = await startGantry();
  port = await routerPort(g);
  remote = await createApp(g, APP, "--drain", "1s");
}, 60_000);
afterAll(async () => {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

async function releases(): Promise<ReleaseView[]> {
  const r = await g.cli(["releases", APP, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ReleaseView[];
}

/** What web answers through the router: `release N / migrations K / last <line>`. */
async function answer(): Promise<string> {
  const a = await get(port, HOST);
  expect(a.status).toBe(200);
  return a.body;
}

describe("the release phase on a real push", () => {
  it("runs once per release, before web starts, with the release's config", async () => {
    // v1: config only (no code yet, so no release phase either).
    const cfg = await g.cli(["config:set", APP, `MIGRATION_LOG=${log}`, "TAG=a"]);
    expect(cfg.code, cfg.stderr).toBe(0);

    const repo = await localRepo(work, RELEASE_PHASE_APP);
    const pushed = await push(repo, remote);
    expect(pushed.code, pushed.stderr).toBe(0);
    // The pusher sees the phase start, its output and its end (git shows them as remote: …).
    expect(pushed.stderr).toMatch(/running the release phase: node migrate\.js \(release\.\d+ on /);
    expect(pushed.stderr).toMatch(/release\.\d+: migrating v2 as release\.\d+/);
    expect(pushed.stderr).toMatch(/the release phase succeeded \(release\.\d+, \d+ s\)/);
    const first = migrations(log);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/^2 a release\.\d+$/);
    // Web started after the migration: it read the line when it started.
    expect(await answer()).toBe(`release 2\nmigrations 1\nlast ${first[0]}\n`);

    // A config change makes v3: its phase runs again, with v3's config (TAG=b).
    const changed = await g.cli(["config:set", APP, "TAG=b"]);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toMatch(/running the release phase: node migrate\.js/);
    const second = migrations(log);
    expect(second).toHaveLength(2);
    expect(second[1]).toMatch(/^3 b release\.\d+$/);
    await eventually("v3 serving", async () =>
      (await answer()) === `release 3\nmigrations 2\nlast ${second[1]}\n` ? true : undefined,
    );

    const list = await releases();
    for (const v of [2, 3])
      expect(list.find((r) => r.version === v)?.releasePhase).toMatchObject({
        status: "succeeded",
        command: "node migrate.js",
        exitCode: 0,
        finishedAt: expect.any(String),
      });
    expect(list.find((r) => r.version === 1)?.releasePhase).toBeUndefined();
    // Once per release: nothing ran it again meanwhile.
    expect(migrations(log)).toEqual(second);
    const table = await g.cli(["releases", APP]);
    expect(table.stdout).toMatch(/v3\s+active\s+succeeded \(\d+ s\)/);
    const info = await g.cli(["apps:info", APP]);
    expect(info.stdout).toMatch(/Release phase:?\s+node migrate\.js \(time limit 600 s\)/);
    const set = await g.cli(["apps:set", APP, "release-timeout=5m"]);
    expect(set.code, set.stderr).toBe(0);
    const after = await g.cli(["apps:info", APP]);
    expect(after.stdout).toMatch(/Release phase:?\s+node migrate\.js \(time limit 300 s\)/);
  }, 120_000);

  it("refuses to scale one-off types", async () => {
    const r = await g.cli(["ps:scale", APP, "release=1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`"release" cannot be scaled: it runs once per release`);
    const ps = await g.cli(["ps", APP, "--json"]);
    expect(ps.stdout).not.toContain('"processType":"release","kind":"run"');
  });

  it("a failing phase fails the release with its last line; the old release keeps serving", async () => {
    const before = migrations(log);
    const r = await g.cli(["config:set", APP, "FAIL_MIGRATION=1"]);
    expect(r.code).not.toBe(0);
    const reason = `release phase failed (exit 1): Error: relation "users" already exists`;
    expect(r.stderr).toContain(reason);
    expect(r.stdout).toMatch(/release\.\d+: Error: relation "users" already exists/);
    expect(r.stdout).toContain("v3 keeps serving");
    const v4 = (await releases()).find((rel) => rel.version === 4);
    expect(v4).toMatchObject({
      status: "failed",
      error: reason,
      releasePhase: { status: "failed", exitCode: 1, error: reason },
    });
    // No instance of v4 was ever started; v3 serves on.
    const ps = await g.cli(["ps", APP, "--json"]);
    const entries = JSON.parse(ps.stdout) as { release: number; processType: string }[];
    expect(entries.filter((e) => e.release === 4).map((e) => e.processType)).toEqual(["release"]);
    expect(await answer()).toMatch(/^release 3\n/);
    expect(migrations(log)).toEqual(before);
    const table = await g.cli(["releases", APP]);
    expect(table.stdout).toMatch(/v4\s+failed\s+failed \(exit 1\)/);
    expect(table.stdout).toContain(`v4 failed: ${reason}`);
  }, 60_000);
});
