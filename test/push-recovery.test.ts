/**
 * Push recovery's shell (src/apps/push-recovery.ts) over a real store and a real bare repository:
 * what it reads, what it writes in one transaction, and that it is idempotent. The decision
 * itself is unit-tested in src/apps/interrupted-push.test.ts; the whole flow with real pushes
 * and a real SIGKILL in test/push-interrupted.slow.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildKey } from "../src/build/builder.js";
import { ensureRepoId } from "../src/build/repo-id.js";
import { appRepoPath } from "../src/build/repo.js";
import { recoverInterruptedPushes } from "../src/apps/push-recovery.js";
import type { AppService } from "../src/apps/service.js";
import { configKey } from "../src/apps/keys.js";
import {
  releaseKey,
  ReleaseSchema,
  type Build,
  type PushOrigin,
  type Release,
} from "../src/model/app.js";
import { text } from "../src/store/index.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { git, localRepo } from "./helpers/paas.js";

let t: TestApi;
let apps: AppService;
let work: string;
const admin = { tokenId: "t", name: "admin", policies: [{ admin: true as const }] };

beforeAll(async () => {
  t = await startTestApi();
  apps = t.api.deps.apps as AppService;
  work = mkdtempSync(join(tmpdir(), "gantry-push-recovery-"));
});
afterAll(async () => {
  await t.close();
  rmSync(work, { recursive: true, force: true });
});

/** An app whose repository's main is at a first commit; answers it and a second (not on main). */
async function appWithRepo(name: string): Promise<{ repo: string; a: string; b: string }> {
  await apps.create(name, {}, admin);
  const local = await localRepo(work, { "server.js": "1" });
  const a = (await git(["rev-parse", "HEAD"], local)).stdout.trim();
  // A fetch into the bare repository runs no hook: main is at `a`, as after a completed push.
  await git(["--git-dir", appRepoPath(t.dataDir, name), "fetch", "-q", local, "main:main"], work);
  return { repo: ensureRepoId(t.dataDir, name)!, a, b: "b".repeat(40) };
}

async function putRelease(app: string, r: Partial<Release> & { version: number }): Promise<void> {
  const rel: Release = {
    app,
    processTypes: { web: "node server.js" },
    configVersion: 0,
    config: {},
    description: `v${r.version}`,
    createdAt: new Date().toISOString(),
    createdBy: "admin",
    status: "superseded",
    artifact: String(r.version).repeat(64).slice(0, 64),
    ...r,
  };
  await t.store.put(releaseKey(app, r.version), JSON.stringify(rel));
}

async function release(app: string, v: number): Promise<Release | undefined> {
  const kv = await t.store.get(releaseKey(app, v));
  return kv === undefined ? undefined : ReleaseSchema.parse(JSON.parse(text(kv.value)));
}

const push = (commit: string, repo: string): PushOrigin => ({
  commit,
  ref: "refs/heads/main",
  repo,
});

describe("settlePushes", () => {
  it("abandons a live release of a push git did not take and restores the one before, once", async () => {
    const { repo, a, b } = await appWithRepo("live");
    await putRelease("live", { version: 1, push: push(a, repo) });
    await putRelease("live", { version: 2, status: "active", push: push(b, repo) });
    await apps.updateApp("live", admin, "test", (app) => ({ ...app, currentRelease: 2 }));
    await t.store.put(configKey("live"), JSON.stringify({ version: 3, values: {} }));

    const done = await apps.settlePushes("live");
    expect(done).toEqual({
      abandoned: [
        {
          version: 2,
          reason: `the push of bbbbbbb to main did not complete (main is at ${a.slice(0, 7)})`,
        },
      ],
      restored: 3,
    });
    expect(await release("live", 2)).toMatchObject({
      status: "abandoned",
      error: done.abandoned[0]!.reason,
    });
    expect(await release("live", 3)).toMatchObject({
      status: "pending",
      description: "restored v1: the push of bbbbbbb did not complete",
      createdBy: "gantry",
      artifact: (await release("live", 1))!.artifact,
      push: push(a, repo),
      // The config as it is now.
      configVersion: 3,
    });
    const audit = await t.store.range({ prefix: "sys/audit/" });
    const actions = audit.kvs.map(
      (kv) => JSON.parse(text(kv.value)) as { action: string; target: string },
    );
    expect(actions).toContainEqual(
      expect.objectContaining({ action: "app.release.abandon", target: "live v2" }),
    );
    expect(actions).toContainEqual(
      expect.objectContaining({ action: "app.release.restore", target: "live v3" }),
    );

    // Settled: a second look changes nothing.
    expect(await apps.settlePushes("live")).toEqual({ abandoned: [] });
    expect(await release("live", 4)).toBeUndefined();
  });

  it("leaves an app alone whose releases came from another server's repository", async () => {
    const { a, b } = await appWithRepo("elsewhere");
    await putRelease("elsewhere", { version: 1, push: push(a, "0000000000000000") });
    await putRelease("elsewhere", {
      version: 2,
      status: "deploying",
      push: push(b, "0000000000000000"),
    });
    expect(await apps.settlePushes("elsewhere")).toEqual({ abandoned: [] });
    expect((await release("elsewhere", 2))?.status).toBe("deploying");
  });
});

describe("recoverInterruptedPushes (server start)", () => {
  it("settles every app and fails builds of its pushes that were still building", async () => {
    const { repo, a, b } = await appWithRepo("started");
    await putRelease("started", { version: 1, status: "active", push: push(a, repo) });
    await apps.updateApp("started", admin, "test", (app) => ({ ...app, currentRelease: 1 }));
    await putRelease("started", { version: 2, status: "pending", push: push(b, repo) });
    const build: Build = {
      id: "20300101-000000-000-abcd",
      app: "started",
      status: "building",
      commit: b,
      startedAt: new Date().toISOString(),
      createdBy: "admin",
      push: push(b, repo),
    };
    await t.store.put(buildKey("started", build.id), JSON.stringify(build));
    const said: string[] = [];
    await recoverInterruptedPushes({
      store: t.store,
      audit: t.api.deps.audit,
      dataDir: t.dataDir,
      say: (line) => said.push(line),
    });
    expect((await release("started", 2))?.status).toBe("abandoned");
    expect(await release("started", 3)).toBeUndefined();
    const kv = await t.store.get(buildKey("started", build.id));
    expect(JSON.parse(text(kv!.value))).toMatchObject({
      status: "failed",
      error: expect.stringContaining("interrupted"),
    });
    expect(said).toContain(
      `apps: started: v2 abandoned: the push of bbbbbbb to main did not complete (main is at ${a.slice(0, 7)})`,
    );
  });
});
