/**
 * An app connected to an outside git repo (apps:connect), end to end: a real `gantry up`, a
 * loopback git host (`git http-backend` over HTTP, test/helpers/git-http-host.ts) with a bare
 * repo the test commits to, signed webhooks as GitHub and Gitea send them, the poll fallback,
 * and the app served through the router.
 */
import { randomUUID, createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppConnectionView, ConnectAppAnswer } from "../src/model/connect.js";
import type { Build } from "../src/model/app.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { startGitHttpHost, type GitHttpHost } from "./helpers/git-http-host.js";
import { eventually, get, git, routerPort, stopGantry } from "./helpers/paas.js";

const SERVER_JS = `import { createServer } from "node:http";
import { readFileSync } from "node:fs";
const version = readFileSync(new URL("./version.txt", import.meta.url), "utf8").trim();
const server = createServer((req, res) => res.end(\`hello \${version}\\n\`));
server.listen(Number(process.env.PORT ?? 5000));
process.on("SIGTERM", () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;
const PACKAGE = resolve(import.meta.dirname, "../examples/hello/package.json");

let g: GantryProcess;
let host: GitHttpHost;
let work: string;
let port: number;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-connect-"));
  host = await startGitHttpHost(join(work, "host"));
  g = await startGantry();
  port = await routerPort(g);
});
afterAll(async () => {
  await stopGantry(g);
  await host?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A repo on the host (`<work>/host/<name>.git`) and a working clone that pushes to it. */
interface HostRepo {
  bare: string;
  commit(v: string, branch?: string): Promise<string>;
}

async function hostRepo(name: string): Promise<HostRepo> {
  const bare = join(work, "host", `${name}.git`);
  await git(["init", "-q", "--bare", "-b", "main", bare], work);
  const dir = join(work, `${name}-work`);
  await git(["init", "-q", "-b", "main", dir], work);
  writeFileSync(join(dir, "server.js"), SERVER_JS);
  writeFileSync(join(dir, "package.json"), readFileSync(PACKAGE));
  return {
    bare,
    async commit(v, branch = "main") {
      const current = (await git(["symbolic-ref", "--short", "HEAD"], dir)).stdout.trim();
      if (current !== branch) {
        const r = await git(["checkout", "-q", branch], dir);
        if (r.code !== 0) await git(["checkout", "-q", "-b", branch], dir);
      }
      writeFileSync(join(dir, "version.txt"), `${v}\n`);
      await git(["add", "-A"], dir);
      await git(["commit", "-q", "-m", `version ${v}`], dir);
      const r = await git(["push", "-q", "--force", bare, `${branch}:${branch}`], dir);
      expect(r.code, r.stderr).toBe(0);
      return (await git(["rev-parse", "HEAD"], dir)).stdout.trim();
    },
  };
}

async function cli(args: string[]): Promise<string> {
  const r = await g.cli(args, { timeoutMs: 60_000 });
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return r.stdout;
}

const builds = async (app: string): Promise<Build[]> => {
  const res = await fetch(`${g.url}/v1/apps/${app}/builds`, {
    headers: { authorization: `Bearer ${g.token}` },
  });
  return (await res.json()) as Build[];
};

async function served(app: string, body: string, ms = 60_000): Promise<void> {
  try {
    await eventually(
      `${app} to serve ${JSON.stringify(body)}`,
      async () => (await get(port, `${app}.localhost`)).body === body || undefined,
      ms,
    );
  } catch (err) {
    // Say why: the connection's state, the app's build lines, the server's last lines.
    const conn = await g.cli(["apps:connection", app]);
    const logs = await g.cli(["logs", app, "-n", "40"]);
    throw new Error(
      `${(err as Error).message}\n${conn.stdout}${conn.stderr}\n${logs.stdout}\n${g.output().slice(-3000)}`,
    );
  }
}

type Style = "github" | "gitea";

function hook(
  answer: ConnectAppAnswer,
  payload: unknown,
  opts: { style?: Style; secret?: string | null; event?: string; delivery?: string } = {},
): Promise<Response> {
  const body = JSON.stringify(payload);
  const style = opts.style ?? "github";
  const sig = createHmac("sha256", opts.secret ?? answer.secret)
    .update(body)
    .digest("hex");
  const headers: Record<string, string> = { "content-type": "application/json" };
  const delivery = opts.delivery ?? randomUUID();
  if (style === "github") {
    headers["x-github-event"] = opts.event ?? "push";
    headers["x-github-delivery"] = delivery;
    if (opts.secret !== null) headers["x-hub-signature-256"] = `sha256=${sig}`;
  } else {
    headers["x-gitea-event"] = opts.event ?? "push";
    headers["x-gitea-delivery"] = delivery;
    if (opts.secret !== null) headers["x-gitea-signature"] = sig;
  }
  return fetch(answer.webhookUrl, { method: "POST", headers, body });
}

describe("apps:connect", { timeout: 180_000 }, () => {
  it("builds the branch on connect, on signed GitHub and Gitea pushes; refuses unsigned, badly signed and replayed calls; ignores other branches", async () => {
    const repo = await hostRepo("web");
    const first = await repo.commit("one");
    await cli(["apps:create", "web"]);
    const out = await cli([
      "apps:connect",
      "web",
      "--repo",
      host.url("web"),
      "--poll",
      "0",
      "--json",
    ]);
    const answer = JSON.parse(out) as ConnectAppAnswer;
    expect(answer).toMatchObject({ head: first, branch: "main", poll: "off", pollMs: 0 });
    expect(answer.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(answer.webhookUrl).toBe(`${g.url}/v1/hooks/git/web`);
    await served("web", "hello one\n");

    // The secret is never shown again.
    const shown = await cli(["apps:connection", "web", "--json"]);
    expect(shown).not.toContain(answer.secret);
    expect(JSON.parse(shown)).toMatchObject({ lastCommit: first, lastResult: "succeeded" });
    expect(await cli(["apps:connection", "web"])).toMatch(/last commit\s+[0-9a-f]{12} succeeded/);

    const second = await repo.commit("two");
    const push2 = { ref: "refs/heads/main", after: second };
    // Unsigned, and signed with another secret: 401, nothing built.
    const unsigned = await hook(answer, push2, { secret: null });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe(
      "unauthorized",
    );
    expect((await hook(answer, push2, { secret: "wrong" })).status).toBe(401);
    expect((await hook(answer, push2, { style: "gitea", secret: "wrong" })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await builds("web")).map((b) => b.commit)).toEqual([first]);
    expect((await get(port, "web.localhost")).body).toBe("hello one\n");

    // ping
    const ping = await hook(answer, { zen: "hi" }, { event: "ping" });
    expect(ping.status).toBe(200);

    // A signed GitHub push → 202, built, served.
    const delivery = randomUUID();
    const ok = await hook(answer, push2, { delivery });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toMatchObject({ queued: { branch: "main", commit: second } });
    await served("web", "hello two\n");

    // The same delivery again → refused as a replay, nothing built.
    const replay = await hook(answer, push2, { delivery });
    expect(replay.status).toBe(409);
    // The same commit under a new delivery id → taken, not built twice.
    const again = await hook(answer, push2);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { ignored: string }).ignored).toMatch(/built already/);

    // A push to another branch → 200, ignored, not built.
    const other = await repo.commit("feature", "feature");
    const ignored = await hook(answer, { ref: "refs/heads/feature", after: other });
    expect(ignored.status).toBe(200);
    expect(((await ignored.json()) as { ignored: string }).ignored).toMatch(
      /not the connected branch main/,
    );

    // Gitea's signature works too.
    const third = await repo.commit("three");
    const gitea = await hook(answer, { ref: "refs/heads/main", after: third }, { style: "gitea" });
    expect(gitea.status).toBe(202);
    await served("web", "hello three\n");
    await eventually("the connection to record the third commit", async () => {
      const v = JSON.parse(await cli(["apps:connection", "web", "--json"])) as AppConnectionView;
      return v.lastCommit === third && v.building === null ? v : undefined;
    });
    const commits = (await builds("web")).map((b) => b.commit).sort();
    expect(commits).toEqual([first, second, third].sort());
    const logs = await cli(["logs", "web", "-n", "1000", "--ps", "build"]);
    expect(logs).toMatch(
      /build -----> Fetching [0-9a-f]{12} from http:\/\/127\.0\.0\.1:\d+\/web\.git/,
    );

    // A pull request while the app is in no pipeline with review apps: taken, not built.
    const pr = await hook(
      answer,
      {
        action: "opened",
        number: 1,
        pull_request: { head: { ref: "feature", sha: other }, base: { ref: "main" } },
      },
      { event: "pull_request" },
    );
    expect(pr.status).toBe(200);
    expect(((await pr.json()) as { ignored: string }).ignored).toMatch(
      /no pipeline with review apps/,
    );

    // Disconnected: the webhook is refused.
    await cli(["apps:disconnect", "web"]);
    expect((await hook(answer, { ref: "refs/heads/main", after: third })).status).toBe(404);
  });

  it("the poll finds a commit no webhook reported, and builds it once", async () => {
    const repo = await hostRepo("polled");
    const first = await repo.commit("p1");
    await cli(["apps:create", "polled"]);
    await cli(["apps:connect", "polled", "--repo", host.url("polled"), "--poll", "1s"]);
    await served("polled", "hello p1\n");
    const second = await repo.commit("p2");
    await served("polled", "hello p2\n");
    const v = await eventually("the poll's check recorded", async () => {
      const c = JSON.parse(await cli(["apps:connection", "polled", "--json"])) as AppConnectionView;
      return c.lastCommit === second && c.lastCheckedAt !== null && c.building === null
        ? c
        : undefined;
    });
    expect(v).toMatchObject({ poll: "1s", lastResult: "succeeded", lastError: null });
    // Several polls later, still one build per commit.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await builds("polled")).map((b) => b.commit).sort()).toEqual([first, second].sort());
  });
});

describe("apps:connect pull requests", { timeout: 180_000 }, () => {
  it("a pull request opened, synchronized (Gitea) and closed makes, updates and destroys a review app", async () => {
    const repo = await hostRepo("shop");
    await repo.commit("s1");
    await cli(["apps:create", "shop-staging"]);
    await cli(["apps:create", "shop-prod"]);
    const created = await fetch(`${g.url}/v1/pipelines`, {
      method: "POST",
      headers: { authorization: `Bearer ${g.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "shop",
        stages: [
          { name: "staging", app: "shop-staging" },
          { name: "production", app: "shop-prod" },
        ],
        reviewApps: { enabled: true },
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const out = await cli([
      "apps:connect",
      "shop-staging",
      "--repo",
      host.url("shop"),
      "--poll",
      "0",
      "--json",
    ]);
    const answer = JSON.parse(out) as ConnectAppAnswer;
    await served("shop-staging", "hello s1\n");

    // The host keeps a pull request's head at refs/pull/N/head (GitHub and Gitea both do).
    const f1 = await repo.commit("f1", "feature/x");
    await git(["--git-dir", repo.bare, "update-ref", "refs/pull/5/head", f1], work);
    const pull = (action: string, sha: string): unknown => ({
      action,
      number: 5,
      pull_request: { head: { ref: "feature/x", sha }, base: { ref: "main" } },
    });
    const opened = await hook(answer, pull("opened", f1), { event: "pull_request" });
    expect(opened.status).toBe(202);
    expect(await opened.json()).toMatchObject({
      queued: { number: 5, branch: "feature/x", review: "shop-feature-x", commit: f1 },
    });
    await served("shop-feature-x", "hello f1\n");

    const f2 = await repo.commit("f2", "feature/x");
    await git(["--git-dir", repo.bare, "update-ref", "refs/pull/5/head", f2], work);
    const sync = await hook(answer, pull("synchronized", f2), {
      event: "pull_request",
      style: "gitea",
    });
    expect(sync.status).toBe(202);
    await served("shop-feature-x", "hello f2\n");
    // The connected branch did not move.
    expect((await get(port, "shop-staging.localhost")).body).toBe("hello s1\n");

    const closed = await hook(answer, pull("closed", f2), { event: "pull_request" });
    expect(closed.status).toBe(202);
    await eventually("the review app to be destroyed", async () => {
      const r = await fetch(`${g.url}/v1/apps/shop-feature-x`, {
        headers: { authorization: `Bearer ${g.token}` },
      });
      return r.status === 404 || undefined;
    });
  });
});
