/**
 * Pipelines end to end as a user runs them: `gantry up` as a real process with its agent and
 * router, the CLI as real processes, real `git push`es, HTTP through the router. Push to
 * staging → promote → production serves the same artifact with its own config → a branch push
 * makes a review app at its URL with staging's config plus the override → deleting the branch
 * destroys it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineStatus } from "../src/apps/pipeline-status.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import {
  eventually,
  get,
  git,
  HELLO,
  localRepo,
  routerPort,
  stopGantry,
  withToken,
} from "./helpers/paas.js";

let g: GantryProcess;
let work: string;
let port: number;
let repo: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-pipelines-slow-"));
  g = await startGantry();
  port = await routerPort(g);
  repo = await localRepo(work, HELLO);
}, 60_000);
afterAll(async () => {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<string> {
  const r = await g.cli(args);
  expect(r.code, `gantry ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
}
const remote = (app: string): string => withToken(`${g.url}/git/${app}.git`, g.token);

/** The router answers `body` for `host` (old instances leave the table a moment after a deploy). */
const serves = (host: string, body: string, ms = 10_000) =>
  eventually(
    `${host} to answer ${JSON.stringify(body)}`,
    async () => {
      const a = await get(port, host);
      return a.status === 200 && a.body === body ? true : undefined;
    },
    ms,
  );

describe("a pipeline, end to end", () => {
  it("push to staging → promote → production serves the same artifact with its config", async () => {
    await cli("apps:create", "hello-staging");
    await cli("apps:create", "hello");
    await cli("config:set", "hello-staging", "GREETING=staging");
    await cli("config:set", "hello", "GREETING=production");
    await cli(
      "pipelines:create",
      "hello",
      "--stage",
      "staging=hello-staging",
      "--stage",
      "production=hello",
      "--review-apps",
      "--review-config",
      "GREETING=review",
      "--require-config",
      "DATABASE_URL",
    );
    const pushed = await git(["push", "--force", remote("hello-staging"), "main"], repo);
    expect(pushed.code, pushed.stderr).toBe(0);
    await serves("hello-staging.localhost", "Hello from hello-staging\nGREETING=staging\n");

    const refused = await g.cli(["pipelines:promote", "hello-staging"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("lacks config DATABASE_URL");
    await cli("config:set", "hello", "DATABASE_URL=postgres://db/prod");

    const started = Date.now();
    const out = await cli("pipelines:promote", "hello-staging");
    await serves("hello.localhost", "Hello from hello\nGREETING=production\n");
    const promoteMs = Date.now() - started;
    expect(out).toMatch(/✓ v\d+ is live at http:\/\/hello\.localhost:\d+\//);
    const status = JSON.parse(await cli("pipelines", "hello", "--json")) as PipelineStatus;
    expect(status.stages[1]?.artifact).toBe(status.stages[0]?.artifact);
    expect(status.stages[1]?.behind).toBe(false);
    expect(await cli("releases", "hello")).toMatch(/active\s+promoted from hello-staging v\d+/);
    process.stderr.write(
      `pipelines.slow: promote to serving ${promoteMs} ms (CLI process included)\n`,
    );
    expect(promoteMs).toBeLessThan(10_000);
  }, 120_000);

  it("a branch push makes a review app at its URL; deleting the branch destroys it", async () => {
    await git(["checkout", "-q", "-b", "feature-x"], repo);
    const started = Date.now();
    const r = await git(["push", remote("hello-staging"), "feature-x"], repo);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /review app hello-feature-x v1 deployed at http:\/\/hello-feature-x\.localhost:\d+\//,
    );
    await serves("hello-feature-x.localhost", "Hello from hello-feature-x\nGREETING=review\n");
    process.stderr.write(
      `pipelines.slow: branch push to review app serving ${Date.now() - started} ms\n`,
    );
    expect(await cli("reviews", "hello-staging")).toContain("hello-feature-x");
    expect(await cli("ps", "hello-feature-x")).toContain("web.1");

    const del = await git(["push", remote("hello-staging"), ":feature-x"], repo);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stderr).toContain("review app hello-feature-x destroyed");
    await eventually("the review app to leave the router", async () =>
      (await get(port, "hello-feature-x.localhost")).status === 404 ? true : undefined,
    );
    expect(await cli("apps")).not.toContain("hello-feature-x");
  }, 120_000);
});
