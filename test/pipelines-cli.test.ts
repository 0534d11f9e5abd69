/**
 * `gantry pipelines*` and `gantry reviews`, in-process, against a real API server, store and
 * deploy controller, with real `git push`es (dist/build/hook.js: `npm run build`); a fake agent
 * stands in for the node.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppService } from "../src/apps/service.js";
import type { PipelineStatus } from "../src/apps/pipeline-status.js";
import { startDeployController, type DeployController } from "../src/controllers/deploy.js";
import type { Principal } from "../src/model/principal.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { gantry } from "./helpers/cli-in-process.js";
import { FakeAgent } from "./helpers/fake-agent.js";
import { git, HELLO, localRepo, withToken } from "./helpers/paas.js";

let t: TestApi;
let svc: AppService;
let agent: FakeAgent;
let controller: DeployController;
let work: string;
let repo: string;
const who: Principal = { tokenId: "t", name: "tester", policies: [{ admin: true }] };
const gitUrl = (app: string): string => withToken(`${t.url}/git/${app}.git`, t.adminToken);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-pipelines-cli-"));
  t = await startTestApi();
  svc = t.api.deps.apps as AppService;
  process.env["GANTRY_ADDR"] = t.url;
  process.env["GANTRY_TOKEN"] = t.adminToken;
  await t.store.put("nodes/node-a", JSON.stringify({ name: "node-a" }));
  agent = new FakeAgent(t.store);
  controller = startDeployController({ store: t.store, log: () => undefined });
  for (const app of ["web-staging", "web"])
    await svc.create(app, { deployTimeoutMs: 5000, drainMs: 0 }, who);
  repo = await localRepo(work, HELLO);
}, 30_000);
afterAll(async () => {
  await controller?.stop();
  await agent?.stop();
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("gantry pipelines", () => {
  it("says what is wrong with a bad pipeline", async () => {
    const one = await gantry("pipelines:create", "web", "--stage", "staging=web-staging");
    expect(one.code).toBe(1);
    expect(one.err).toContain("a pipeline needs at least 2 stages");
    const bad = await gantry("pipelines:create", "web", "--stage", "staging", "--stage", "p=web");
    expect([bad.code, bad.err]).toEqual([
      1,
      'gantry: --stage takes NAME=APP, like staging=hello-staging, not "staging" (--stage)',
    ]);
    const none = await gantry("pipelines", "nope");
    expect([none.code, none.err]).toEqual([1, 'gantry: pipeline "nope" not found']);
  });

  it("creates a pipeline, shows production behind staging, refuses a promotion naming the missing config", async () => {
    const made = await gantry(
      "pipelines:create",
      "web",
      "--stage",
      "staging=web-staging",
      "--stage",
      "production=web",
      "--review-apps",
      "--review-config",
      "DEBUG=1",
      "--require-config",
      "DATABASE_URL",
    );
    expect(made.out).toBe(
      "created pipeline web: staging=web-staging → production=web\npromote with: gantry pipelines:promote web-staging",
    );
    const list = await gantry("pipelines");
    expect(list.out.split("\n")[1]).toMatch(
      /^web\s+staging=web-staging → production=web\s+on \(stale after 5d\)\s+DATABASE_URL\s+in sync$/,
    );
    const pushed = await git(["push", "--force", gitUrl("web-staging"), "main"], repo);
    expect(pushed.code, pushed.stderr).toBe(0);
    const shown = await gantry("pipelines", "web");
    expect(shown.out).toContain("review apps: on, destroyed after 5d untouched; overrides DEBUG");
    expect(shown.out).toMatch(/staging\s+web-staging\s+v1\s+[0-9a-f]{12}\s+-\s+-/);
    expect(shown.out).toMatch(/production\s+web\s+-\s+-\s+-\s+behind staging/);
    const refused = await gantry("pipelines:promote", "web-staging");
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("web (stage production) lacks config DATABASE_URL");
  }, 60_000);

  it("promotes, follows the deploy, and shows the stages in sync", async () => {
    await svc.changeConfig("web", { DATABASE_URL: "postgres://x" }, [], who);
    const r = await gantry("pipelines:promote", "web-staging");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("Promoting web-staging v1 (staging) to web (production): v2");
    expect(r.out).toContain("✓ v2 is live at http://web.localhost:8080/");
    const shown = await gantry("pipelines", "web");
    expect(shown.out).toMatch(
      /production\s+web\s+v2\s+[0-9a-f]{12}\s+web-staging v1\s+in sync with staging/,
    );
    const json = JSON.parse((await gantry("pipelines", "web", "--json")).out) as PipelineStatus;
    expect(json.stages[1]?.artifact).toBe(json.stages[0]?.artifact);
    expect(json.stages[1]?.behind).toBe(false);
    expect(JSON.stringify(json)).not.toContain('"1"'); // the review override's value is never shown
    const releases = await gantry("releases", "web");
    expect(releases.out).toMatch(/v2\s+active\s+promoted from web-staging v1/);
  }, 30_000);

  it("lists review apps, and destroys them with the pipeline", async () => {
    const empty = await gantry("reviews", "web-staging");
    expect(empty.out).toBe("(no review apps: push a branch other than main to web-staging)");
    await git(["checkout", "-q", "-b", "fix-typo"], repo);
    const pushed = await git(["push", gitUrl("web-staging"), "fix-typo"], repo);
    expect(pushed.code, pushed.stderr).toBe(0);
    const list = await gantry("reviews", "web-staging");
    expect(list.out.split("\n")[1]).toMatch(
      /^web-fix-typo\s+fix-typo\s+[0-9a-f]{12}\s+v1\s+http:\/\/web-fix-typo\.localhost:8080\//,
    );
    const apps = await gantry("apps");
    expect(apps.out).toContain("web-fix-typo");
    // A tag is no branch: accepted, and no review app is made for it.
    await git(["tag", "v1.0"], repo);
    const tagged = await git(["push", gitUrl("web-staging"), "v1.0"], repo);
    expect(tagged.code, tagged.stderr).toBe(0);
    expect((await gantry("reviews", "web-staging", "--json")).out).not.toContain("v1");
    const off = await gantry("pipelines:update", "web", "--no-review-apps", "--stale-after", "2d");
    expect(off.out).toBe("updated pipeline web");
    expect((await gantry("pipelines", "web")).out).toContain("review apps: off");
    const wrong = await gantry("pipelines:destroy", "web", "--confirm", "nope");
    expect(wrong.code).toBe(1);
    const gone = await gantry("pipelines:destroy", "web", "--confirm", "web");
    expect(gone.out).toBe("deleted pipeline web; destroyed review apps web-fix-typo");
    expect((await gantry("pipelines")).out).toContain("(no pipelines:");
  }, 60_000);
});
