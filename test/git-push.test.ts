/**
 * `git push` over HTTP into the API server: real git, git's own http-backend, the pre-receive
 * hook (dist/build/hook.js, made by `npm run build`) and the builder. The apps service is a stub
 * here: these tests pin down the receive and build side; deploying has its own tests.
 */
import { spawn } from "node:child_process";
import { git as gitIn } from "./helpers/paas.js";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hookProgram } from "../src/build/repo.js";
import type { ReleaseOutcome } from "../src/build/release-hook.js";
import type { Build } from "../src/model/app.js";
import { startTestApi, type TestApi } from "./helpers/api.js";

const HELLO = resolve(import.meta.dirname, "../examples/hello");

let t: TestApi;
let work: string;
let writer: string;
let reader: string;
let stranger: string;
let releases: { app: string; build: Build; who: string }[];
let outcome: ReleaseOutcome;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** git with no user or system config (test/helpers/paas.ts), run in the work dir by default. */
const git = (args: string[], cwd = work): Promise<Run> => gitIn(args, cwd);

const remote = (token: string, app = "hello"): string =>
  `${t.url.replace("://", `://x:${token}@`)}/git/${app}.git`;

async function serverRef(app: string, ref = "refs/heads/main"): Promise<string | undefined> {
  const r = await git([
    "--git-dir",
    join(t.dataDir, "repos", `${app}.git`),
    "rev-parse",
    "--verify",
    "-q",
    ref,
  ]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function createApp(name: string): Promise<void> {
  await t.store.put(
    `apps/${name}`,
    JSON.stringify({
      name,
      createdAt: new Date().toISOString(),
      createdBy: "test",
      domains: [],
      formation: {},
      healthPath: "/",
      deployTimeoutMs: 30_000,
      drainMs: 1000,
      currentRelease: 0,
    }),
  );
}

/** A fresh local repository with these files committed on main. */
async function localRepo(files: Record<string, string | Buffer> | string): Promise<string> {
  const dir = mkdtempSync(join(work, "repo-"));
  await git(["init", "-q", "-b", "main", dir]);
  if (typeof files === "string") cpSync(files, dir, { recursive: true });
  else {
    for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  }
  await git(["add", "-A"], dir);
  // A unique message: the same files committed in the same second would otherwise give the
  // same commit as an earlier test's, and pushing it would be a no-op.
  await git(["commit", "-q", "-m", `change ${randomBytes(4).toString("hex")}`], dir);
  return dir;
}

const head = async (dir: string): Promise<string> =>
  (await git(["rev-parse", "HEAD"], dir)).stdout.trim();

beforeAll(async () => {
  // The hook runs as compiled JS from dist/: a stale build would test old code.
  const hook = hookProgram();
  for (const src of ["hook.ts", "result.ts"]) {
    const srcPath = resolve(import.meta.dirname, "../src/build", src);
    if (!existsSync(hook) || statSync(hook).mtimeMs < statSync(srcPath).mtimeMs) {
      throw new Error(`${hook} is missing or older than src/build/${src}: run npm run build`);
    }
  }
  work = mkdtempSync(join(tmpdir(), "gantry-git-"));
  t = await startTestApi();
  t.api.deps.apps = {
    releaseFromBuild: async (app, build, who, onLine) => {
      releases.push({ app, build, who: who.name });
      onLine("-----> Releasing v1 (stub)");
      return outcome;
    },
  };
  await createApp("hello");
  await createApp("broken");
  // The pusher has what the deployer role gives (app deploy, not write): pushing needs no more.
  writer = (
    await t.clientWith(
      [{ resource: "app", prefix: "hello", access: "deploy", exact: true }],
      "writer",
    )
  ).secret;
  reader = (await t.clientWith([{ resource: "app", prefix: "hello", access: "read" }], "reader"))
    .secret;
  stranger = (await t.clientWith([{ resource: "app", prefix: "other", access: "write" }])).secret;
});
afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  releases = [];
  outcome = { ok: true, version: 1, url: "http://hello.localhost:8080/" };
  delete t.api.deps.build;
});

describe("git push", () => {
  it("builds a push to main, streams the build back and accepts it when the release succeeds", async () => {
    const repo = await localRepo(HELLO);
    const sha = await head(repo);
    const r = await git(["push", "--force", remote(writer), "main"], repo);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("remote: -----> Node app detected");
    expect(r.stderr).toContain("remote: -----> No dependencies to install");
    expect(r.stderr).toMatch(/remote: -----> Build succeeded: artifact [0-9a-f]{12}/);
    expect(r.stderr).toContain("remote: -----> Releasing v1 (stub)");
    expect(r.stderr).toContain("remote: -----> hello v1 deployed at http://hello.localhost:8080/");
    expect(r.stderr).not.toContain("gantry:result");
    expect(r.stderr).not.toContain(writer);
    expect(releases).toHaveLength(1);
    const { build, who } = releases[0]!;
    expect(who).toBe("writer");
    expect(build).toMatchObject({ app: "hello", status: "succeeded", commit: sha, stack: "node" });
    expect(existsSync(join(t.dataDir, "artifacts", `${build.artifact}.tar.gz`))).toBe(true);
    expect(await serverRef("hello")).toBe(sha);
    // The build's share of push-to-serving: examples/hello has nothing to install.
    expect(Date.parse(build.finishedAt!) - Date.parse(build.startedAt)).toBeLessThan(2000);

    const list = (await t.admin.json<Build[]>("GET", "/v1/apps/hello/builds")).map((b) => b.id);
    expect(list[0]).toBe(build.id);
    const log = await (
      await t.admin.request("GET", `/v1/apps/hello/builds/${build.id}/log`)
    ).text();
    expect(log).toContain("Build succeeded");
  });

  it("rejects a push it cannot build, saying what is missing, and leaves the ref alone", async () => {
    const repo = await localRepo({ "index.js": "console.log(1)\n" });
    // hello's main stays where the previous test pushed it (or absent when run alone).
    const before = await serverRef("hello");
    const r = await git(["push", "--force", remote(writer), "main"], repo);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "remote:  !     Push rejected: no Procfile and no package.json start script — add a Procfile like `web: node server.js`",
    );
    expect(r.stderr).toContain("pre-receive hook declined");
    expect(await serverRef("hello")).toBe(before);
    expect(await serverRef("hello")).not.toBe(await head(repo));
    expect(releases).toHaveLength(0);
  });

  it("rejects the push when the release fails; the ref does not move", async () => {
    outcome = { ok: false, error: "web.1 exited at start: Error: boom" };
    const repo = await localRepo({ "package.json": '{"scripts":{"start":"node -e 1"}}' });
    const r = await git(["push", remote(t.adminToken, "broken"), "main"], repo);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("remote:  !     Push rejected: web.1 exited at start: Error: boom");
    expect(releases).toHaveLength(1);
    expect(await serverRef("broken")).toBeUndefined();
  });

  it("accepts other branches without building, and refuses to delete main", async () => {
    const repo = await localRepo(HELLO);
    const r = await git(["push", remote(writer), "main:feature"], repo);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("remote: -----> feature: accepted without a build");
    expect(releases).toHaveLength(0);
    expect(await serverRef("hello", "refs/heads/feature")).toBe(await head(repo));

    // Make sure main exists on the server, then try to delete it.
    await git(["push", "--force", remote(writer), "main"], repo);
    const main = await serverRef("hello");
    expect(main).toBeDefined();
    const del = await git(["push", remote(writer), ":main"], repo);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain("remote:  !     deleting main is not allowed");
    expect(await serverRef("hello")).toBe(main);
  });

  it("serializes pushes to one app: a push that waited behind another does not deploy a stale main", async () => {
    const first = await localRepo(HELLO);
    const second = await localRepo({
      ...{ "package.json": '{"scripts":{"start":"node x"}}' },
      x: "1",
    });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    t.api.deps.apps = {
      releaseFromBuild: async (app, build, who) => {
        releases.push({ app, build, who: who.name });
        await held;
        return outcome;
      },
    };
    try {
      const one = git(["push", "--force", remote(writer), "main"], first);
      const until = Date.now() + 60_000;
      while (releases.length === 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(releases, "the first push never reached the release step").toHaveLength(1);
      // The second push sees the old main, sends its pack, and waits for the first to finish.
      const two = git(["push", "--force", remote(writer), "main"], second);
      await new Promise((r) => setTimeout(r, 500));
      release();
      const [r1, r2] = await Promise.all([one, two]);
      expect(r1.code, r1.stderr).toBe(0);
      expect(r2.code).not.toBe(0);
      expect(r2.stderr).toContain("main moved while this push was waiting");
      expect(releases).toHaveLength(1);
      expect(await serverRef("hello")).toBe(await head(first));
    } finally {
      release();
      t.api.deps.apps = {
        releaseFromBuild: async (app, build, who, onLine) => {
          releases.push({ app, build, who: who.name });
          onLine("-----> Releasing v1 (stub)");
          return outcome;
        },
      };
    }
  }, 120_000);

  it("needs a token: 401 with a Basic challenge, and git fails", async () => {
    const res = await fetch(`${t.url}/git/hello.git/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Basic realm="gantry"');
    const repo = await localRepo({ "a.txt": "a" });
    const r = await git(["push", remote("not-a-token"), "main"], repo);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Authentication failed|401/);
    const ls = await git(["ls-remote", remote("not-a-token")]);
    expect(ls.code).not.toBe(0);
  });

  it("lets a read token clone and fetch but not push; other apps' tokens get 403", async () => {
    const pushed = await serverRef("hello");
    expect(pushed).toBeDefined();
    const dest = join(work, `clone-${randomBytes(3).toString("hex")}`);
    const c = await git(["clone", "-q", remote(reader), dest]);
    expect(c.code, c.stderr).toBe(0);
    expect(await head(dest)).toBe(pushed);
    expect(existsSync(join(dest, "server.js"))).toBe(true);

    writeFileSync(join(dest, "new.txt"), "x");
    await git(["add", "-A"], dest);
    await git(["commit", "-q", "-m", "x"], dest);
    const p = await git(["push", remote(reader), "main"], dest);
    expect(p.code).not.toBe(0);
    expect(p.stderr).toMatch(/403/);
    expect(await serverRef("hello")).toBe(pushed);

    const s = await git(["ls-remote", remote(stranger)]);
    expect(s.code).not.toBe(0);
    expect(s.stderr).toMatch(/403/);
  });

  it("answers 404 for an unknown app", async () => {
    const res = await fetch(`${t.url}/git/nope.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('no app named "nope"');
  });

  it("refuses a push over the size limit (413), with or without Content-Length", async () => {
    t.api.deps.build = { maxPushBytes: 64 * 1024 };
    const repo = await localRepo({
      ...{ "package.json": '{"scripts":{"start":"x"}}' },
      "blob.bin": randomBytes(300_000),
    });
    const before = await serverRef("hello");
    const r = await git(["push", "--force", remote(writer), "main"], repo);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/413/);
    // Chunked: git streams packs over http.postBuffer without a length; receive-pack refuses it.
    const chunked = await git(
      ["-c", "http.postBuffer=4096", "push", "--force", remote(writer), "main"],
      repo,
    );
    expect(chunked.code).not.toBe(0);
    expect(chunked.stderr).toMatch(/exceeds maximum allowed size|413|unpack/);
    expect(await serverRef("hello")).toBe(before);
    expect(releases).toHaveLength(0);
  });
});

describe("POST /v1/apps/:app/builds", () => {
  it("answers 404 for an unknown app and 403 without write access", async () => {
    const res = await fetch(`${t.url}/v1/apps/nope/builds`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.adminToken}` },
      body: "",
    });
    expect(res.status).toBe(404);
    const ro = await fetch(`${t.url}/v1/apps/hello/builds`, {
      method: "POST",
      headers: { authorization: `Bearer ${reader}` },
      body: "",
    });
    expect(ro.status).toBe(403);
  });

  it("ends the stream with a machine-readable result; without an apps service it says deploys are unavailable", async () => {
    const apps = t.api.deps.apps;
    delete t.api.deps.apps;
    try {
      const repo = await localRepo(HELLO);
      const tarball = await new Promise<Buffer>((res) => {
        const p = spawn("git", ["archive", "--format=tar", "HEAD"], { cwd: repo });
        const parts: Buffer[] = [];
        p.stdout.on("data", (c: Buffer) => parts.push(c));
        p.on("close", () => res(Buffer.concat(parts)));
      });
      const res = await fetch(`${t.url}/v1/apps/hello/builds?commit=upload`, {
        method: "POST",
        headers: { authorization: `Bearer ${writer}`, "content-type": "application/x-tar" },
        body: tarball,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      const lines = (await res.text()).trimEnd().split("\n");
      expect(lines).toContain("-----> Node app detected");
      const last = lines.at(-1)!;
      expect(last.startsWith("gantry:result ")).toBe(true);
      const result = JSON.parse(last.slice("gantry:result ".length));
      expect(result).toMatchObject({
        ok: false,
        error: expect.stringContaining("deploys are not available"),
      });
      expect(result.artifact).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      t.api.deps.apps = apps;
    }
  });

  it("refuses a declared body over the source limit with 413 before building", async () => {
    t.api.deps.build = { maxSourceBytes: 1000 };
    const res = await fetch(`${t.url}/v1/apps/hello/builds`, {
      method: "POST",
      headers: { authorization: `Bearer ${writer}` },
      body: Buffer.alloc(5000),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain("larger than 1000 bytes");
  });
});
