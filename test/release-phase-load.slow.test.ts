/**
 * Issue 15's proof for the release phase: a push whose release phase fails (exit 1) while a
 * client hammers the app through the router is rejected, not one request fails, the old release
 * keeps serving, and `gantry releases` shows the failed one with its reason. Then a push with the
 * migration fixed goes live, still with no failed request.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReleaseView } from "../src/model/app-views.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import {
  createApp,
  commitFile,
  eventually,
  get,
  localRepo,
  push,
  routerPort,
  startLoad,
  stopGantry,
} from "./helpers/paas.js";
import {
  migrations,
  MIGRATE_FAIL,
  MIGRATE_OK,
  RELEASE_PHASE_APP,
} from "./helpers/release-phase-app.js";

const APP = "migload";
const HOST = `${APP}.localhost`;

let g: GantryProcess;
let work: string;
let port: number;
let remote: string;
let repo: string;
let log: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-release-load-"));
  log = join(work, "migrations.log");
  g = await startGantry();
  port = await routerPort(g);
  remote = await createApp(g, APP, "--drain", "1s");
  expect((await g.cli(["config:set", APP, `MIGRATION_LOG=${log}`, "TAG=a"])).code).toBe(0);
  repo = await localRepo(work, RELEASE_PHASE_APP);
  const first = await push(repo, remote);
  expect(first.code, first.stderr).toBe(0);
  const scaled = await g.cli(["ps:scale", APP, "web=2"]);
  expect(scaled.code, scaled.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

async function releases(): Promise<ReleaseView[]> {
  const r = await g.cli(["releases", APP, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ReleaseView[];
}

describe("a failing release phase under load", () => {
  it("rejects the push, fails no request, and the old release keeps serving", async () => {
    expect((await get(port, HOST)).body).toMatch(/^release 2\n/);
    const load = startLoad(port, HOST, { concurrency: 4 });
    await commitFile(repo, "migrate.js", MIGRATE_FAIL);
    const pushed = await push(repo, remote);
    const reason = "release phase failed (exit 1): Error: column users.email cannot be null";
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toContain(reason);
    expect(pushed.stderr).toMatch(/release\.\d+: Error: column users\.email cannot be null/);
    // Keep the load on a moment after the failure: the old instances were never touched.
    await new Promise((r) => setTimeout(r, 1000));
    const during = await load.stop();
    expect(during.failed, during.failures.join("\n")).toBe(0);
    expect(during.ok).toBeGreaterThan(100);
    expect([...during.bodies].every((b) => b.startsWith("release 2\n"))).toBe(true);

    const v3 = (await releases()).find((r) => r.version === 3);
    expect(v3).toMatchObject({
      status: "failed",
      error: reason,
      releasePhase: { status: "failed", exitCode: 1 },
    });
    const table = await g.cli(["releases", APP]);
    expect(table.stdout).toMatch(/v3\s+failed\s+failed \(exit 1\)/);
    expect(table.stdout).toContain(`v3 failed: ${reason}`);
    expect(table.stdout).toMatch(/v2\s+active\s+succeeded/);
    expect(migrations(log)).toHaveLength(1);

    // The migration fixed: the next push goes live under the same load, its phase run once.
    const again = startLoad(port, HOST, { concurrency: 4 });
    await commitFile(repo, "migrate.js", MIGRATE_OK);
    const fixed = await push(repo, remote);
    expect(fixed.code, fixed.stderr).toBe(0);
    await eventually("v4 serving", async () =>
      (await get(port, HOST)).body.startsWith("release 4\n") ? true : undefined,
    );
    const after = await again.stop();
    expect(after.failed, after.failures.join("\n")).toBe(0);
    console.log(
      `release phase under load: failed push ${during.ok} ok / ${during.failed} failed; fixed push ${after.ok} ok / ${after.failed} failed`,
    );
    const lines = migrations(log);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^4 a release\.\d+$/);
  }, 180_000);
});
