/**
 * Pipelines, promotion and review apps through the API: a real API server and store, the deploy
 * controller, real `git push`es through the pre-receive hook (dist/build/hook.js: `npm run
 * build`) and the builder; a fake agent stands in for the node (test/helpers/fake-agent.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppService } from "../src/apps/service.js";
import { readTestConfig } from "../src/apps/test-config.js";
import type { PipelineStatus } from "../src/apps/pipeline-status.js";
import { sweepStaleReviews } from "../src/api/review-sweep.js";
import { PipelinesClient } from "../src/client/pipelines.js";
import { startDeployController, type DeployController } from "../src/controllers/deploy.js";
import { BuildSchema, ReleaseSchema, type Release } from "../src/model/app.js";
import type { Principal } from "../src/model/principal.js";
import { text } from "../src/store/index.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";
import { FakeAgent } from "./helpers/fake-agent.js";
import { commitFile, git, HELLO, localRepo, withToken } from "./helpers/paas.js";

let t: TestApi;
let svc: AppService;
let agent: FakeAgent;
let controller: DeployController;
let work: string;
let pl: PipelinesClient;
let repo: string;
const who: Principal = { tokenId: "t", name: "tester", policies: [{ admin: true }] };

const gitUrl = (app: string): string => withToken(`${t.url}/git/${app}.git`, t.adminToken);

async function release(app: string, version?: number): Promise<Release> {
  const v = version ?? (await svc.info(app, "")).currentRelease;
  const kv = await t.store.get(`releases/${app}/${String(v).padStart(8, "0")}`);
  return ReleaseSchema.parse(JSON.parse(text(kv!.value)));
}

/** Wait for a release's deploy to end; fail on a failed deploy. */
async function live(app: string, version: number): Promise<void> {
  const r = await svc.follow(app, version, () => undefined, AbortSignal.timeout(20_000));
  expect(r, `deploy of ${app} v${version}`).toMatchObject({ ok: true });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-pipelines-"));
  t = await startTestApi();
  svc = t.api.deps.apps as AppService;
  await t.store.put("nodes/node-a", JSON.stringify({ name: "node-a" }));
  agent = new FakeAgent(t.store);
  controller = startDeployController({ store: t.store, log: () => undefined });
  for (const app of ["hello-staging", "hello", "other", "lonely"])
    await svc.create(app, { deployTimeoutMs: 5000, drainMs: 0 }, who);
  await svc.changeConfig("hello-staging", { GREETING: "from staging", SHARED: "s" }, [], who);
  await svc.changeConfig("hello", { GREETING: "from production" }, [], who);
  pl = new PipelinesClient(t.admin);
  repo = await localRepo(work, HELLO);
}, 30_000);
afterAll(async () => {
  await controller?.stop();
  await agent?.stop();
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("pipelines: bad input", () => {
  it("refuses an unknown app, a single stage, an app already in a pipeline and a token without write", async () => {
    const unknown = await errorOf(
      pl.create({
        name: "x",
        stages: [
          { name: "staging", app: "lonely" },
          { name: "production", app: "nope" },
        ],
      }),
    );
    expect([unknown.status, unknown.message]).toEqual([
      400,
      'stage production: no app named "nope" (create it with: gantry apps:create nope)',
    ]);
    const one = await errorOf(
      pl.create({ name: "x", stages: [{ name: "staging", app: "lonely" }] }),
    );
    expect(one.status).toBe(400);
    expect(one.message).toContain("a pipeline needs at least 2 stages");
    const twice = await errorOf(
      pl.create({
        name: "x",
        stages: [
          { name: "a", app: "lonely" },
          { name: "b", app: "lonely" },
        ],
      }),
    );
    expect([twice.status, twice.message]).toEqual([
      400,
      "app lonely is in two stages: an app is in one stage at most",
    ]);
    await pl.create({
      name: "first",
      stages: [
        { name: "a", app: "other" },
        { name: "b", app: "lonely" },
      ],
    });
    const taken = await errorOf(
      pl.create({
        name: "second",
        stages: [
          { name: "a", app: "lonely" },
          { name: "b", app: "hello" },
        ],
      }),
    );
    expect([taken.status, taken.message]).toEqual([
      400,
      "app lonely is already in pipeline first: an app is in one pipeline at most",
    ]);
    const reader = new PipelinesClient(
      await t.clientWith([{ resource: "app", prefix: "", access: "deploy" }]),
    );
    const denied = await errorOf(
      reader.create({
        name: "y",
        stages: [
          { name: "a", app: "hello-staging" },
          { name: "b", app: "hello" },
        ],
      }),
    );
    expect(denied.status).toBe(403);
    const deleted = await pl.delete("first", "first");
    expect(deleted).toEqual({ pipeline: "first", reviewAppsDestroyed: [] });
    expect(await t.store.get("sys/pipeline-apps/lonely")).toBeUndefined();
  });
});

describe("promotion", () => {
  let staged: Release;

  it("pushes to staging, then refuses a promotion while production lacks a required config name", async () => {
    await pl.create({
      name: "hello",
      stages: [
        { name: "staging", app: "hello-staging" },
        { name: "production", app: "hello" },
      ],
      requiredConfig: ["DATABASE_URL"],
    });
    const pushed = await git(["push", "--force", gitUrl("hello-staging"), "main"], repo);
    expect(pushed.code, pushed.stderr).toBe(0);
    staged = await release("hello-staging");
    expect(staged.artifact).toMatch(/^[0-9a-f]{64}$/);
    const before = await pl.get("hello");
    expect(before.stages.map((s) => [s.name, s.behind])).toEqual([
      ["staging", undefined],
      ["production", true],
    ]);
    const refused = await errorOf(pl.promote("hello-staging"));
    expect([refused.status, refused.code]).toEqual([400, "promotion_refused"]);
    expect(refused.message).toContain("hello (stage production) lacks config DATABASE_URL");
  }, 60_000);

  it("promotes the same artifact with production's own config and says where it came from", async () => {
    await svc.changeConfig("hello", { DATABASE_URL: "postgres://prod" }, [], who);
    const started = Date.now();
    const answer = await pl.promote("hello-staging");
    expect(answer).toMatchObject({
      app: "hello",
      pipeline: "hello",
      stage: "production",
      from: { app: "hello-staging", version: staged.version, stage: "staging" },
    });
    await live("hello", answer.version);
    expect(Date.now() - started).toBeLessThan(5000);
    const promoted = await release("hello", answer.version);
    expect(promoted).toMatchObject({
      artifact: staged.artifact,
      build: staged.build,
      processTypes: staged.processTypes,
      description: `Promote hello-staging v${staged.version}`,
      promotedFrom: { app: "hello-staging", version: staged.version, pipeline: "hello" },
      status: "active",
    });
    // Its own config, not staging's.
    expect(svc.secrets.open("hello", promoted.config)).toEqual({
      GREETING: "from production",
      DATABASE_URL: "postgres://prod",
    });
    // What runs: production's web instance runs staging's artifact.
    const assignments = await t.store.range({ prefix: "assignments/node-a/" });
    const web = assignments.kvs
      .map(
        (kv) => JSON.parse(text(kv.value)) as { app: string; release: number; artifact?: string },
      )
      .find((a) => a.app === "hello" && a.release === answer.version);
    expect(web?.artifact).toBe(staged.artifact);
    // The build record came along, so the release names a build production has.
    const build = await t.store.get(`builds/hello/${staged.build}`);
    expect(BuildSchema.parse(JSON.parse(text(build!.value))).artifact).toBe(staged.artifact);
    const after: PipelineStatus = await pl.get("hello");
    expect(after.stages[1]).toMatchObject({
      app: "hello",
      release: answer.version,
      artifact: staged.artifact,
      behind: false,
      promotedFrom: { app: "hello-staging", version: staged.version },
    });
  }, 30_000);

  it("with requireTests, refuses a release whose build has no passed test", async () => {
    await pl.update("hello", { requireTests: true });
    const none = await errorOf(pl.promote("hello-staging"));
    expect(none.message).toBe(
      `hello-staging v${staged.version} did not pass its tests (no test ran), and pipeline hello promotes only tested releases`,
    );
    const key = `builds/hello-staging/${staged.build}`;
    const build = JSON.parse(text((await t.store.get(key))!.value)) as Record<string, unknown>;
    const test = { command: "npm test", startedAt: new Date().toISOString() };
    await t.store.put(key, JSON.stringify({ ...build, test: { ...test, status: "failed" } }));
    expect((await errorOf(pl.promote("hello-staging"))).message).toContain("(test failed)");
    await t.store.put(key, JSON.stringify({ ...build, test: { ...test, status: "passed" } }));
    const ok = await pl.promote("hello-staging");
    await live("hello", ok.version);
    await pl.update("hello", { requireTests: false });
  }, 30_000);

  it("refuses a promotion while the target lacks a name the slug's app.json marks required", async () => {
    const env = { SECRET_KEY: { required: true }, OPTIONAL: { required: false }, PLAIN: "x" };
    await commitFile(repo, "app.json", JSON.stringify({ name: "hello", env }));
    const pushed = await git(["push", "--force", gitUrl("hello-staging"), "main"], repo);
    expect(pushed.code, pushed.stderr).toBe(0);
    const refused = await errorOf(pl.promote("hello-staging"));
    expect(refused.message).toBe(
      "hello (stage production) lacks config SECRET_KEY, which the app's app.json requires: set it with gantry config:set hello SECRET_KEY=…",
    );
    await svc.changeConfig("hello", { SECRET_KEY: "k" }, [], who);
    await live("hello", (await pl.promote("hello-staging")).version);
  }, 30_000);

  it("refuses to promote from the last stage, to an unknown stage, and an app in no pipeline", async () => {
    expect((await errorOf(pl.promote("hello"))).message).toBe(
      "hello is the last stage (production) of pipeline hello: there is no stage after it to promote to",
    );
    expect((await errorOf(pl.promote("hello-staging", "qa"))).message).toBe(
      'pipeline hello has no stage "qa" (its stages: staging, production)',
    );
    expect((await errorOf(pl.promote("lonely"))).message).toContain("lonely is in no pipeline");
  });
});

describe("review apps", () => {
  const name = "hello-feature-login";

  it("builds a pushed branch into a review app with staging's config plus the overrides", async () => {
    await pl.update("hello", { reviewApps: { enabled: true, config: { DEBUG: "1" } } });
    await t.admin.json("PUT", "/v1/apps/hello-staging/config", {
      query: { scope: "test" },
      body: { set: { CI_DB: "sqlite::memory:" } },
    });
    expect((await pl.get("hello")).reviewApps).toMatchObject({
      enabled: true,
      staleAfterMs: 5 * 24 * 3_600_000,
      configNames: ["DEBUG"],
    });
    await git(["checkout", "-q", "-b", "feature/login"], repo);
    const r = await git(["push", gitUrl("hello-staging"), "feature/login"], repo);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `remote: -----> Review app ${name} for branch feature/login (created`,
    );
    expect(r.stderr).toContain(
      `remote: -----> review app ${name} v1 deployed at http://${name}.localhost:8080/`,
    );
    const info = await svc.info(name, "");
    expect(info.review).toMatchObject({
      pipeline: "hello",
      parent: "hello-staging",
      branch: "feature/login",
    });
    expect(info.currentRelease).toBe(1);
    // Checked and run as its parent is (hello-staging: deploy timeout 5 s, no drain).
    expect([info.deployTimeoutMs, info.drainMs]).toEqual([5000, 0]);
    expect(svc.secrets.open(name, (await release(name)).config)).toEqual({
      GREETING: "from staging",
      SHARED: "s",
      DEBUG: "1",
    });
    // Its builds' tests run with the parent's TEST config.
    expect((await readTestConfig(svc, name)).values).toEqual({ CI_DB: "sqlite::memory:" });
    const listed = await pl.reviews("hello-staging");
    expect(listed.reviews.map((v) => [v.app, v.branch, v.release])).toEqual([
      [name, "feature/login", 1],
    ]);
  }, 60_000);

  it("a second push updates it; deleting the branch destroys it", async () => {
    await commitFile(repo, "NOTE.md", "second\n");
    const sha = (await git(["rev-parse", "HEAD"], repo)).stdout.trim();
    const r = await git(["push", gitUrl("hello-staging"), "feature/login"], repo);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("(updating; pipeline hello)");
    const info = await svc.info(name, "");
    expect([info.currentRelease, info.review?.commit]).toEqual([2, sha]);
    const del = await git(["push", gitUrl("hello-staging"), ":feature/login"], repo);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stderr).toContain(
      `remote: -----> feature/login deleted: review app ${name} destroyed`,
    );
    expect(await t.store.get(`apps/${name}`)).toBeUndefined();
    expect((await pl.reviews("hello-staging")).reviews).toEqual([]);
  }, 60_000);

  it("a failed build rejects the branch push", async () => {
    const broken = await localRepo(work, { "README.md": "no app here\n" });
    await git(["checkout", "-q", "-b", "broken"], broken);
    const r = await git(["push", gitUrl("hello-staging"), "broken"], broken);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("remote:  !     Push of broken rejected:");
    // Made for that push only: it goes with it.
    expect(r.stderr).toContain("removing review app hello-broken");
    expect(await t.store.get("apps/hello-broken")).toBeUndefined();
  }, 60_000);

  it("the sweep destroys review apps untouched for staleAfter", async () => {
    await git(["checkout", "-q", "-b", "old"], repo);
    const r = await git(["push", gitUrl("hello-staging"), "old"], repo);
    expect(r.code, r.stderr).toBe(0);
    await pl.update("hello", { reviewApps: { staleAfterMs: 1000 } });
    expect(await sweepStaleReviews(t.api.deps)).not.toContain("hello-old");
    const gone = await sweepStaleReviews(t.api.deps, Date.now() + 1500);
    expect(gone).toContain("hello-old");
    expect(await t.store.get("apps/hello-old")).toBeUndefined();
    const audit = await t.store.range({ prefix: "sys/audit/" });
    expect(audit.kvs.map((kv) => text(kv.value)).join("\n")).toContain("app.review.stale");
  }, 60_000);
});
