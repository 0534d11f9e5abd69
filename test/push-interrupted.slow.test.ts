/**
 * Issue 19, second defect: what runs is always a commit of the app repo's main. `gantry up` is
 * SIGKILLed while four pushes of v2 stand at different points — one building, one deploying,
 * one live whose hook has not exited yet (so git has not moved the ref), and one live whose ref
 * git did move — then started again on the same data directory. Each point is held by a gate
 * (a file the app's build or health check waits for) or by stopping the push's hook with
 * SIGSTOP, never by a timer. A second test drops the pusher's connection while a push deploys
 * and a config change waits behind it, with the server running on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppView, ReleaseView } from "../src/model/app-views.js";
import type { Build } from "../src/model/app.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually, get, git, push, stopGantry, withToken, type Run } from "./helpers/paas.js";

let g: GantryProcess;
let work: string;
const gates: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-interrupted-"));
  g = await startGantry();
});
afterAll(async () => {
  // Let any build still waiting at its gate (orphaned by the SIGKILL) finish.
  for (const gate of gates) writeFileSync(gate, "go");
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

/** The app's web server: answers its version (and GREETING), or 503 until `healthGate` exists. */
function serverJs(version: string, healthGate?: string): string {
  return `const fs = require("node:fs");
const gate = ${JSON.stringify(healthGate ?? null)};
require("node:http").createServer((req, res) => {
  if (gate !== null && !fs.existsSync(gate)) { res.writeHead(503); res.end("not ready\\n"); return; }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(${JSON.stringify(version)} + (process.env.GREETING ? " " + process.env.GREETING : "") + "\\n");
}).listen(Number(process.env.PORT));
process.on("SIGTERM", () => process.exit(0));
`;
}

/**
 * Files whose build waits at a gate: npm runs the root's preinstall script, which writes
 * `marker` and then waits for `go` (at most two minutes, and not once the test's directory is
 * gone: an orphan of the SIGKILL must not outlive the test by much).
 */
function buildGate(marker: string, go: string): Record<string, string> {
  gates.push(go);
  return {
    "package.json": JSON.stringify({
      name: "gated",
      version: "1.0.0",
      scripts: { preinstall: "node gate.js" },
      dependencies: { dep: "file:./dep" },
    }),
    "dep/package.json": JSON.stringify({ name: "dep", version: "1.0.0" }),
    "gate.js": `const fs = require("node:fs");
fs.writeFileSync(${JSON.stringify(marker)}, String(process.pid));
const until = Date.now() + 120000;
const done = () => fs.existsSync(${JSON.stringify(go)}) || !fs.existsSync(${JSON.stringify(dirname(go))});
const t = setInterval(() => { if (done() || Date.now() > until) clearInterval(t); }, 50);
`,
  };
}

/** Commit these files (creating directories) in a local repository; answers the commit. */
async function commit(
  dir: string,
  files: Record<string, string>,
  message: string,
): Promise<string> {
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  await git(["add", "-A"], dir);
  await git(["commit", "-q", "-m", message], dir);
  return (await git(["rev-parse", "HEAD"], dir)).stdout.trim();
}

interface App {
  name: string;
  dir: string;
  url: string;
  v1: string;
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${g.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${g.token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

const releases = (app: string): Promise<ReleaseView[]> =>
  api<ReleaseView[]>("GET", `/v1/apps/${app}/releases`);
const releaseOf = async (app: string, v: number): Promise<ReleaseView | undefined> =>
  (await releases(app)).find((r) => r.version === v);

/** A new app with v1 pushed and live. */
async function appWithV1(name: string): Promise<App> {
  const created = await api<AppView>("POST", "/v1/apps", { name, drainMs: 500 });
  const dir = mkdtempSync(join(work, `${name}-`));
  await git(["init", "-q", "-b", "main", dir], work);
  const v1 = await commit(
    dir,
    { Procfile: "web: node server.js\n", "server.js": serverJs("v1") },
    "v1",
  );
  const url = withToken(created.gitUrl, g.token);
  const r = await push(dir, url);
  expect(r.code, r.stderr).toBe(0);
  return { name, dir, url, v1 };
}

/** `git push` in the background, in its own process group (so the whole client can be killed). */
function pushInBackground(app: App): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn("git", ["push", "--force", app.url, "main"], {
    cwd: app.dir,
    detached: true,
    env: { PATH: process.env["PATH"], HOME: app.dir, GIT_TERMINAL_PROMPT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Run>((res) =>
    child.on("close", (code) => res({ code: code ?? -1, stdout, stderr })),
  );
  return { child, done };
}

/** The pid of the pre-receive hook running for a push to `app` (found in /proc). */
function hookPid(app: string): number | undefined {
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!readFileSync(`/proc/${e}/cmdline`, "utf8").includes("build/hook.js")) continue;
      const env = readFileSync(`/proc/${e}/environ`, "utf8").split("\0");
      if (env.includes(`GANTRY_APP=${app}`)) return Number(e);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Where the app repo's main points on the server ("" when absent). */
async function serverMain(app: string): Promise<string> {
  const r = await git(
    ["--git-dir", join(g.dataDir, "repos", `${app}.git`), "rev-parse", "--verify", "-q", "main"],
    work,
  );
  return r.stdout.trim();
}

/** The router's port: the last one `gantry up` printed (it changes with each start). */
function routerPort(): number {
  const all = [...g.output().matchAll(/router\s+http:\/\/[^:]+:(\d+)/g)];
  return Number(all.at(-1)![1]);
}

/** What the router answers for the app (trimmed body), once it answers 200. */
const serving = (app: string): Promise<string> =>
  eventually(`${app} to answer through the router`, async () => {
    const r = await get(routerPort(), `${app}.localhost`);
    return r.status === 200 ? r.body.trim() : undefined;
  });

/** The release that serves, once no deploy is pending: its version and the commit it runs. */
async function live(app: string): Promise<{ version: number; commit?: string }> {
  const info = await api<AppView>("GET", `/v1/apps/${app}`);
  return {
    version: info.currentRelease,
    ...(info.release?.push ? { commit: info.release.push.commit } : {}),
  };
}

describe("a push interrupted by a SIGKILL of gantry up", () => {
  it("leaves nothing live that main does not have, at every point of the push", async () => {
    const [pb, pd, pl, pm] = await Promise.all(
      ["pb", "pd", "pl", "pm"].map((name) => appWithV1(name)),
    );
    // During the build: npm waits at the gate.
    const building = join(work, "pb-building");
    const b2 = await commit(
      pb!.dir,
      { ...buildGate(building, join(work, "pb-go")), "server.js": serverJs("v2") },
      "v2",
    );
    // During the deploy: v2's health check fails until its gate exists (it never will).
    const d2 = await commit(
      pd!.dir,
      { "server.js": serverJs("v2", join(work, "pd-healthy")) },
      "v2",
    );
    // After live: v2 passes once its gate exists; the hook is stopped before that.
    const l2 = await commit(
      pl!.dir,
      { "server.js": serverJs("v2", join(work, "pl-healthy")) },
      "v2",
    );
    const m2 = await commit(
      pm!.dir,
      { "server.js": serverJs("v2", join(work, "pm-healthy")) },
      "v2",
    );

    const pushes = [pb!, pd!, pl!, pm!].map((a) => pushInBackground(a));
    await eventually("pb's build to reach its gate", () => existsSync(building));
    for (const a of [pd!, pl!, pm!])
      await eventually(`${a.name} v2 deploying`, async () =>
        (await releaseOf(a.name, 2))?.status === "deploying" ? true : undefined,
      );
    const stopped: number[] = [];
    for (const a of [pl!, pm!]) {
      const pid = await eventually(`${a.name}'s hook`, () => hookPid(a.name));
      process.kill(pid, "SIGSTOP");
      stopped.push(pid);
      writeFileSync(join(work, `${a.name}-healthy`), "ok");
    }
    for (const a of [pl!, pm!])
      await eventually(`${a.name} v2 live`, async () =>
        (await releaseOf(a.name, 2))?.status === "active" ? true : undefined,
      );
    // Active: the router follows within moments (v1's instances are drained from its routes).
    await eventually("pl to serve v2 through the router", async () =>
      (await serving("pl")) === "v2" ? true : undefined,
    );
    // Live, but git has not moved main: the hook that would let it is stopped.
    expect(await serverMain("pl")).toBe(pl!.v1);
    expect((await releaseOf("pd", 2))?.status).toBe("deploying");

    await g.kill();
    for (const pid of stopped) process.kill(pid, "SIGKILL");
    // pm: as if the kill had come a moment later, after git took the push (objects and ref;
    // a fetch runs no hook).
    const fetched = await git(
      ["--git-dir", join(g.dataDir, "repos", "pm.git"), "fetch", "-q", pm!.dir, "main:main"],
      work,
    );
    expect(fetched.code, fetched.stderr).toBe(0);
    for (const p of pushes) {
      const r = await p.done;
      expect(r.code, r.stderr).not.toBe(0);
    }

    await g.start();
    // Every app serves a commit of its main, and the router serves that code.
    expect(await serverMain("pb")).toBe(pb!.v1);
    expect(await serverMain("pd")).toBe(pd!.v1);
    expect(await serverMain("pl")).toBe(pl!.v1);
    expect(await serverMain("pm")).toBe(m2);

    // Building: no release was made; the build says it was interrupted.
    expect((await releases("pb")).map((r) => r.version)).toEqual([1]);
    const builds = await api<Build[]>("GET", "/v1/apps/pb/builds");
    expect(builds.find((b) => b.commit === b2)).toMatchObject({
      status: "failed",
      error: expect.stringContaining("interrupted"),
    });
    expect(await live("pb")).toEqual({ version: 1, commit: pb!.v1 });
    expect(await serving("pb")).toBe("v1");

    // Deploying: abandoned, its instance goes; v1 never stopped serving.
    expect(await releaseOf("pd", 2)).toMatchObject({
      status: "abandoned",
      error: `the push of ${d2.slice(0, 7)} to main did not complete (main is at ${pd!.v1.slice(0, 7)})`,
    });
    await eventually("pd's v2 instance to go", async () => {
      const ps = await api<{ release: number }[]>("GET", "/v1/apps/pd/ps");
      return ps.length > 0 && ps.every((p) => p.release === 1);
    });
    writeFileSync(join(work, "pd-healthy"), "ok");
    expect(await live("pd")).toEqual({ version: 1, commit: pd!.v1 });
    expect(await serving("pd")).toBe("v1");

    // Live without its push: abandoned, and v1 restored as v3, deployed.
    expect(await releaseOf("pl", 2)).toMatchObject({
      status: "abandoned",
      error: expect.stringContaining(`the push of ${l2.slice(0, 7)} to main did not complete`),
    });
    expect(await releaseOf("pl", 3)).toMatchObject({
      description: `restored v1: the push of ${l2.slice(0, 7)} did not complete`,
      createdBy: "gantry",
      push: { commit: pl!.v1 },
    });
    await eventually("pl's restore to go live", async () =>
      (await releaseOf("pl", 3))?.status === "active" ? true : undefined,
    );
    expect(await live("pl")).toEqual({ version: 3, commit: pl!.v1 });
    expect(
      await eventually("pl to serve v1", async () =>
        (await serving("pl")) === "v1" ? true : undefined,
      ),
    ).toBe(true);
    expect((await releaseOf("pl", 2))?.status).toBe("abandoned");

    // Live, and git had moved main: the release stays.
    expect((await releases("pm")).map((r) => [r.version, r.status])).toEqual([
      [1, "superseded"],
      [2, "active"],
    ]);
    expect(await live("pm")).toEqual({ version: 2, commit: m2 });
    expect(await serving("pm")).toBe("v2");

    // What `gantry releases` tells.
    const json = await g.cli(["releases", "pl", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const listed = JSON.parse(json.stdout) as ReleaseView[];
    expect(listed.find((r) => r.version === 2)).toMatchObject({ status: "abandoned" });
    const text = await g.cli(["releases", "pl"]);
    expect(text.stdout).toMatch(/v2\s+abandoned/);
    expect(text.stdout).toContain(
      `v2 abandoned: the push of ${l2.slice(0, 7)} to main did not complete`,
    );
  }, 240_000);
});

describe("a push whose pusher goes away while it deploys", () => {
  it("abandons its release and a config change made on it; the change is replayed on v1", async () => {
    const pa = await appWithV1("pa");
    await commit(pa.dir, { "server.js": serverJs("v2", join(work, "pa-healthy")) }, "v2");
    const p = pushInBackground(pa);
    await eventually("pa v2 deploying", async () =>
      (await releaseOf("pa", 2))?.status === "deploying" ? true : undefined,
    );
    const config = g.cli(["config:set", "pa", "GREETING=hi"], { timeoutMs: 60_000 });
    await eventually(
      "pa v3 (the config change) made",
      async () => (await releaseOf("pa", 3)) !== undefined,
    );
    expect((await releaseOf("pa", 3))?.push?.commit).toBe((await releaseOf("pa", 2))?.push?.commit);

    process.kill(-p.child.pid!, "SIGKILL");
    await p.done;
    await eventually("pa v2 and v3 abandoned", async () => {
      const [v2, v3] = [await releaseOf("pa", 2), await releaseOf("pa", 3)];
      return v2?.status === "abandoned" && v3?.status === "abandoned" ? true : undefined;
    });
    const set = await config;
    expect(set.code).not.toBe(0);
    expect(set.stderr).toContain("v3 was abandoned: the push of");

    // The config change was explicit: it goes live on v1's code.
    expect(await releaseOf("pa", 4)).toMatchObject({
      description: expect.stringContaining("Set GREETING (on v1: the push of"),
      push: { commit: pa.v1 },
    });
    await eventually("pa v4 live", async () =>
      (await releaseOf("pa", 4))?.status === "active" ? true : undefined,
    );
    expect(await serverMain("pa")).toBe(pa.v1);
    expect(await live("pa")).toEqual({ version: 4, commit: pa.v1 });
    expect(
      await eventually("pa to serve v1 hi", async () =>
        (await serving("pa")) === "v1 hi" ? true : undefined,
      ),
    ).toBe(true);
    // Opening v2's gate now changes nothing: its instances are gone.
    writeFileSync(join(work, "pa-healthy"), "ok");
    const ps = await api<{ release: number }[]>("GET", "/v1/apps/pa/ps");
    expect(ps.every((i) => i.release !== 2 && i.release !== 3)).toBe(true);

    // A pusher still connected when the server stops (SIGTERM) is told.
    const v5 = await commit(pa.dir, { "server.js": serverJs("v5", join(work, "pa-never")) }, "v5");
    const again = pushInBackground(pa);
    await eventually("pa v5 deploying", async () =>
      (await releaseOf("pa", 5))?.status === "deploying" ? true : undefined,
    );
    await g.stop();
    const told = await again.done;
    expect(told.code).not.toBe(0);
    expect(told.stderr).toContain(
      `Push rejected: v5 was abandoned: the push of ${v5.slice(0, 7)} to main did not complete`,
    );
    await g.start();
    expect((await releaseOf("pa", 5))?.status).toBe("abandoned");
    expect(await serverMain("pa")).toBe(pa.v1);
    expect(
      await eventually("pa to serve v1 hi again", async () =>
        (await serving("pa")) === "v1 hi" ? true : undefined,
      ),
    ).toBe(true);
  }, 180_000);
});
