/**
 * Issue 15's proof of the whole path, as a user runs it on a real `gantry up` with real git:
 * a pipeline hello (staging=hello-staging, production=hello) with review apps and required
 * tests. A push whose Procfile `test:` fails is rejected (its output in the push, no release);
 * a passing one releases (the test saw the TEST config). `pipelines:promote` releases the exact
 * artifact on production with production's config, saying where it came from. A branch push
 * makes a review app at its predictable URL with staging's config; deleting the branch destroys
 * it. A pipeline webhook receives test failed, deploy succeeded and the promotion.
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import {
  commitFile,
  eventually,
  get,
  git,
  localRepo,
  routerPort,
  stopGantry,
  withToken,
} from "./helpers/paas.js";

const SERVER = `import { createServer } from "node:http";
const server = createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("hello " + (process.env.GREETING ?? "-") + "\\n");
});
server.listen(Number(process.env.PORT));
process.on("SIGTERM", () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;
const FAILING_TEST = `console.log("1 test failed: greeting is rude"); process.exit(1);\n`;
const PASSING_TEST = `if (process.env.TEST_TOKEN !== "t0k") { console.log("no TEST config"); process.exit(2); }
if (process.env.GREETING !== undefined) { console.log("saw a release value"); process.exit(3); }
console.log("all 3 tests passed");\n`;

let g: GantryProcess;
let work: string;
let port: number;
let receiver: Server;
const events: { event: string; app?: string; text?: string }[] = [];

async function ok(args: string[]): Promise<string> {
  const r = await g.cli(args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`gantry ${args.join(" ")} → ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}
const json = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await ok([...args, "--json"])) as T;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-delivery-"));
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      events.push(JSON.parse(body) as (typeof events)[number]);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  g = await startGantry({});
  port = await routerPort(g);
}, 60_000);

afterAll(async () => {
  await stopGantry(g);
  receiver?.close();
  rmSync(work, { recursive: true, force: true });
});

interface ReleaseEntry {
  version: number;
  artifact?: string;
  status: string;
  promotedFrom?: { app: string; version: number };
}

describe("delivery: tests → staging → promote → production; review apps", () => {
  it("runs the whole path", async () => {
    for (const app of ["hello-staging", "hello"]) await ok(["apps:create", app]);
    await ok(["config:set", "hello-staging", "GREETING=staging"]);
    await ok(["config:set", "hello", "GREETING=production"]);
    await ok(["config:set", "hello-staging", "TEST_TOKEN=t0k", "--scope", "test"]);
    await ok(
      [
        ["pipelines:create", "hello", "--stage", "staging=hello-staging"],
        ["--stage", "production=hello", "--review-apps", "--require-tests"],
      ].flat(),
    );
    const addr = receiver.address() as { port: number };
    await ok(["notifications:add", "--pipeline", "hello", `http://127.0.0.1:${addr.port}/hook`]);

    const repo = await localRepo(work, {
      Procfile: "web: node server.js\ntest: node test.js\n",
      "package.json": JSON.stringify({ name: "hello", version: "1.0.0", type: "module" }),
      "server.js": SERVER,
      "test.js": FAILING_TEST,
    });
    const info = await json<{ gitUrl: string }>(["apps:info", "hello-staging"]);
    const url = withToken(info.gitUrl, g.token);

    // A failing test rejects the push: its output reaches the pusher, nothing is released.
    const before = await json<ReleaseEntry[]>(["releases", "hello-staging"]);
    const rejected = await git(["push", url, "main"], repo);
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toContain("1 test failed: greeting is rude");
    expect(rejected.stderr).toMatch(/tests failed/);
    expect(await json<ReleaseEntry[]>(["releases", "hello-staging"])).toEqual(before);

    // A passing one releases, with the TEST config and without the release's values.
    await commitFile(repo, "test.js", PASSING_TEST);
    const pushed = await git(["push", url, "main"], repo);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain("all 3 tests passed");
    expect((await get(port, "hello-staging.localhost")).body).toBe("hello staging\n");
    const builds = await json<{ test?: { status: string } }[]>(["builds", "hello-staging"]);
    expect(builds.map((b) => b.test?.status)).toEqual(["passed", "failed"]);

    // Promotion: the same artifact, production's own config, and where it came from.
    await ok(["pipelines:promote", "hello-staging"]);
    const [staged] = await json<ReleaseEntry[]>(["releases", "hello-staging"]);
    const [promoted] = await json<ReleaseEntry[]>(["releases", "hello"]);
    expect(promoted!.artifact).toBe(staged!.artifact);
    expect(promoted!.promotedFrom).toMatchObject({
      app: "hello-staging",
      version: staged!.version,
    });
    await eventually("production serving", async () =>
      (await get(port, "hello.localhost")).body === "hello production\n" ? true : undefined,
    );
    const pipeline = await json<{ stages: { app: string; behind?: boolean }[] }>([
      "pipelines",
      "hello",
    ]);
    expect(pipeline.stages.map((s) => s.behind ?? false)).toEqual([false, false]);

    // A branch push makes a review app at its predictable URL with staging's config.
    await git(["checkout", "-q", "-b", "feature-x"], repo);
    await commitFile(repo, "server.js", SERVER.replace('"hello "', '"review "'));
    const branch = await git(["push", url, "feature-x"], repo);
    expect(branch.code, branch.stderr).toBe(0);
    expect(branch.stderr).toContain("http://hello-feature-x.localhost:");
    expect((await get(port, "hello-feature-x.localhost")).body).toBe("review staging\n");
    const reviews = await json<{ app: string; branch: string }[]>(["reviews", "hello-staging"]);
    expect(reviews).toMatchObject([{ app: "hello-feature-x", branch: "feature-x" }]);

    // Deleting the branch destroys it.
    const deleted = await git(["push", url, ":feature-x"], repo);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await json<unknown[]>(["reviews", "hello-staging"])).toEqual([]);
    // The router hears of the removal by its watch: a moment later.
    await eventually("the review app unrouted", async () =>
      (await get(port, "hello-feature-x.localhost")).status === 404 ? true : undefined,
    );

    // The pipeline's webhook heard what happened.
    await eventually("notifications", () => {
      const seen = new Set(events.map((e) => `${e.event} ${e.app ?? ""}`));
      return [
        "test.failed hello-staging",
        "deploy.succeeded hello-staging",
        "promotion hello",
      ].every((e) => seen.has(e))
        ? true
        : undefined;
    });
    expect(events.every((e) => typeof e.text === "string" && e.text !== "")).toBe(true);
  }, 300_000);
});
