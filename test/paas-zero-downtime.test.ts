/**
 * Zero downtime, as a user sees it through the router: a keep-alive load generator runs through
 * config changes, push deploys, a scale-down, a rollback, failing releases and a SIGKILLed
 * instance, and not one request may fail (non-2xx or error).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PsEntry } from "../src/model/app-views.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import {
  commitFile,
  eventually,
  get,
  HELLO,
  localRepo,
  push,
  routerPort,
  stopGantry,
  startLoad,
  withToken,
  type Load,
  type LoadResult,
} from "./helpers/paas.js";

const APP = "zd";
const HOST = `${APP}.localhost`;

let g: GantryProcess;
let work: string;
let port: number;
let remote: string;
let repo: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-zd-"));
  g = await startGantry();
  port = await routerPort(g);
  // A short deploy deadline so a release that never passes fails quickly; a short drain.
  const created = await g.cli([
    "apps:create",
    APP,
    "--deploy-timeout",
    "6s",
    "--drain",
    "1s",
    "--json",
  ]);
  expect(created.code, created.stderr).toBe(0);
  remote = withToken((JSON.parse(created.stdout) as { gitUrl: string }).gitUrl, g.token);
  repo = await localRepo(work, HELLO);
  const first = await push(repo, remote);
  expect(first.code, first.stderr).toBe(0);
  const scaled = await g.cli(["ps:scale", APP, "web=2"]);
  expect(scaled.code, scaled.stderr).toBe(0);
  await runningWeb(2);
}, 120_000);
afterAll(async () => {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

async function ps(): Promise<PsEntry[]> {
  const r = await g.cli(["ps", APP, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PsEntry[];
}

/** Wait until exactly n web instances run and pass, none draining; returns them. */
function runningWeb(n: number, release?: number): Promise<PsEntry[]> {
  return eventually(`${n} passing web instances`, async () => {
    const all = (await ps()).filter((p) => p.processType === "web");
    const up = all.filter(
      (p) =>
        p.state === "running" &&
        p.desired === "running" &&
        p.health === "passing" &&
        (release === undefined || p.release === release),
    );
    return up.length === n && all.length === n ? up : undefined;
  });
}

interface Release {
  version: number;
  status: string;
  error?: string;
}
async function releases(): Promise<Release[]> {
  const r = await g.cli(["releases", APP, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Release[];
}

/** Fail with the load generator's first failures in the message. */
function expectNoFailures(r: LoadResult, min: number): void {
  expect(r.failed, r.failures.join("\n")).toBe(0);
  expect(r.ok).toBeGreaterThan(min);
}

async function withLoad<T>(fn: (load: Load) => Promise<T>): Promise<{ value: T; r: LoadResult }> {
  const load = startLoad(port, HOST, { concurrency: 4, maxMs: 90_000 });
  try {
    // Let it reach a steady state first.
    await eventually("load to flow", async () => (load.count() > 20 ? true : undefined), 5000);
    const value = await fn(load);
    // And keep going a moment after the change: old instances drain and stop now.
    await new Promise((r) => setTimeout(r, 2500));
    return { value, r: await load.stop() };
  } catch (e) {
    await load.stop();
    throw e;
  }
}

describe("zero downtime through the router", () => {
  it("config change, push deploy, scale-down and rollback: 0 failed requests", async () => {
    const { r } = await withLoad(async () => {
      // config change → v2
      const set = await g.cli(["config:set", APP, "GREETING=one"], { timeoutMs: 60_000 });
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toMatch(/v2 is live/);

      // a new push → v3 (new code: a different body)
      const src = readFileSync(join(HELLO, "server.js"), "utf8");
      await commitFile(repo, "server.js", src.replaceAll("Hello from", "Hi from"));
      const pushed = await push(repo, remote);
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(pushed.stderr).toContain(`${APP} v3 deployed at`);
      let seen = "";
      await eventually(
        "v3 to serve",
        async () => {
          seen = (await get(port, HOST)).body;
          return seen === `Hi from ${APP}\nGREETING=one\n` ? true : undefined;
        },
        3000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}; last body ${JSON.stringify(seen)}; push:\n${pushed.stderr}`);
      });

      // scale up, then down: the surplus drains before it stops
      expect((await g.cli(["ps:scale", APP, "web=4"])).code).toBe(0);
      await runningWeb(4, 3);
      expect((await g.cli(["ps:scale", APP, "web=2"])).code).toBe(0);
      await runningWeb(2, 3);

      // rollback to v2 → v4 (old code, GREETING=one)
      const back = await g.cli(["releases:rollback", APP, "v2"], { timeoutMs: 60_000 });
      expect(back.code, back.stderr).toBe(0);
      expect(back.stdout).toMatch(/v4 is live/);
      await runningWeb(2, 4);
    });
    expectNoFailures(r, 200);
    // Every version answered along the way, and only those.
    expect([...r.bodies].sort()).toEqual(
      [
        `Hello from ${APP}\n`,
        `Hello from ${APP}\nGREETING=one\n`,
        `Hi from ${APP}\nGREETING=one\n`,
      ].sort(),
    );
    expect((await get(port, HOST)).body).toBe(`Hello from ${APP}\nGREETING=one\n`);
  }, 120_000);

  it("a push whose app exits at start is rejected with the reason; the old release keeps serving", async () => {
    const before = (await releases())[0]!;
    const bad = await localRepo(work, {
      Procfile: "web: node -e \"console.error('boom: no database'); process.exit(1)\"\n",
    });
    const { value: pushed, r } = await withLoad(() => push(bad, remote));
    expectNoFailures(r, 20);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toContain("remote:  !     Push rejected:");
    expect(pushed.stderr).toContain("boom: no database");
    const list = await releases();
    expect(list[0]).toMatchObject({ version: before.version + 1, status: "failed" });
    expect(list[0]!.error).toContain("boom: no database");
    expect(list[1]).toMatchObject({ version: before.version, status: "active" });
    expect((await get(port, HOST)).body).toBe(`Hello from ${APP}\nGREETING=one\n`);
    await runningWeb(2, before.version);
  }, 90_000);

  it("a push whose health check never passes fails at the deadline; the old release keeps serving", async () => {
    const all = await releases();
    const newest = all[0]!.version;
    const before = all.find((x) => x.status === "active")!;
    const sick = await localRepo(work, {
      Procfile: "web: node server.js\n",
      "server.js":
        "require('node:http').createServer((q, s) => { s.writeHead(500); s.end('sick') })" +
        ".listen(Number(process.env.PORT))\n",
    });
    const { value: pushed, r } = await withLoad(async () => {
      const started = Date.now();
      const p = await push(sick, remote);
      return { ...p, ms: Date.now() - started };
    });
    expectNoFailures(r, 20);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toContain("remote:  !     Push rejected:");
    // It failed at the app's deploy deadline (6 s), not before.
    expect(pushed.ms).toBeGreaterThan(6000);
    expect(pushed.stderr).toMatch(/waiting up to 6 s/);
    const list = await releases();
    expect(list[0]).toMatchObject({ version: newest + 1, status: "failed" });
    expect(list[0]!.error).toBeTruthy();
    expect(pushed.stderr).toContain(list[0]!.error!.slice(0, 40));
    expect((await releases()).find((x) => x.status === "active")!.version).toBe(before.version);
    expect((await get(port, HOST)).body).toBe(`Hello from ${APP}\nGREETING=one\n`);
    // The failed release's instances are gone.
    await runningWeb(2, before.version);
  }, 90_000);

  it("a SIGKILLed instance is restarted, and traffic avoids it meanwhile", async () => {
    const [victim, other] = await runningWeb(2);
    const { r } = await withLoad(async () => {
      process.kill(victim!.pid!, "SIGKILL");
      const back = await eventually("the instance to be restarted", async () => {
        const p = (await ps()).find((x) => x.id === victim!.id);
        return p !== undefined &&
          p.restarts >= 1 &&
          p.pid !== victim!.pid &&
          p.state === "running" &&
          p.health === "passing"
          ? p
          : undefined;
      });
      expect(back.name).toBe(victim!.name);
      // Nothing of the killed instance is left serving on its old port (when it got a new one).
      if (back.port !== victim!.port)
        await eventually(
          "the old port to close",
          () =>
            fetch(`http://127.0.0.1:${victim!.port}/`).then(
              () => undefined,
              () => true,
            ),
          5000,
        );
      expect((await get(port, HOST)).status).toBe(200);
    });
    expectNoFailures(r, 50);
    const after = await runningWeb(2);
    expect(after.find((p) => p.id === other!.id)?.pid).toBe(other!.pid);
  }, 90_000);
});
