/**
 * `npm run bench:paas` — the PaaS in one run:
 *
 * - push-to-serving: examples/hello pushed with real git into a fresh `gantry up` (bin/gantry,
 *   built from dist/: run `npm run build` first), from the start of `git push` to the first 200
 *   through the router. BENCH_PUSHES fresh apps (default 3), one after another; the figure is the
 *   median. The phases come from when each `remote:` line of the push arrived: git (connect,
 *   pack, receive until the hook speaks), build (of it, dependency install: hello has none, so
 *   that is 0 and the rest is platform overhead), release + deploy (instances start and pass
 *   their health check), then until the router serves it.
 * - idle: CPU and wake-ups a second of gantry up's main thread with the apps running and idle.
 * - router: requests/s and p99 of the first app's instance direct, through the router of that
 *   same `gantry up` (as users get it: in its main process on 2 CPUs, beside the API, store,
 *   agent and controllers) and through nginx proxying the instance (bench/paas-router.ts).
 *
 * Last line: `paas: push-to-serving=<s>s router/nginx=<ratio>x router-added-p99=<ms>ms`.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGantry, type GantryProcess } from "../test/helpers/gantry.js";
import { HELLO, localRepo, routerPort, stopGantry, withToken } from "../test/helpers/paas.js";
import { benchPriority, benchRouter, printRouterResult } from "./paas-router.js";
import { latencyNote } from "./router-latency.js";

const PUSHES = Number(process.env["BENCH_PUSHES"] ?? 3);
/** Extra `gantry up` options, e.g. BENCH_GANTRY_ARGS="--router-workers 1". */
const GANTRY_ARGS = (process.env["BENCH_GANTRY_ARGS"] ?? "").split(" ").filter((a) => a !== "");

interface PushTiming {
  app: string;
  /** ms from the start of `git push` */
  firstRemote: number;
  buildStart: number;
  installMs: number;
  buildEnd: number;
  deployStart: number;
  live: number;
  /** Inside the deploy: instances started, reported running (1 s up), passing their check. */
  started: number;
  running: number;
  passing: number;
  pushExit: number;
  serving: number;
}

/** Status of one GET through the router with this Host (0 on a connection error). */
function status(port: number, host: string): Promise<number> {
  return new Promise((res) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/", headers: { host }, agent: false },
      (r) => {
        r.resume();
        r.on("end", () => res(r.statusCode ?? 0));
      },
    );
    req.on("error", () => res(0));
    req.end();
  });
}

/** `git push`, timestamping each line of its stderr (git's `remote:` lines) as it arrives. */
function timedPush(
  dir: string,
  url: string,
  t0: number,
): Promise<{ code: number; lines: { at: number; line: string }[]; exit: number }> {
  return new Promise((res, rej) => {
    const p = spawn("git", ["push", "--force", url, "main"], {
      cwd: dir,
      env: {
        PATH: process.env["PATH"],
        HOME: dir,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_TERMINAL_PROMPT: "0",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const lines: { at: number; line: string }[] = [];
    let partial = "";
    p.stderr.on("data", (c: Buffer) => {
      const at = performance.now() - t0;
      partial += c.toString();
      const parts = partial.split(/\r?\n|\r/);
      partial = parts.pop()!;
      for (const line of parts) if (line.trim() !== "") lines.push({ at, line: line.trimEnd() });
    });
    p.on("error", rej);
    p.on("close", (code) => res({ code: code ?? -1, lines, exit: performance.now() - t0 }));
  });
}

async function pushToServing(
  g: GantryProcess,
  port: number,
  work: string,
  app: string,
): Promise<PushTiming> {
  const created = await g.cli(["apps:create", app, "--json"]);
  if (created.code !== 0) throw new Error(`apps:create ${app}: ${created.stderr}`);
  const gitUrl = (JSON.parse(created.stdout) as { gitUrl: string }).gitUrl;
  const repo = await localRepo(work, HELLO);
  const host = `${app}.localhost`;

  const t0 = performance.now();
  let serving = -1;
  let pushing = true;
  // Poll the router every 5 ms until it serves the app.
  const poll = (async () => {
    while (serving < 0) {
      if ((await status(port, host)) === 200) serving = performance.now() - t0;
      else if (!pushing && performance.now() - t0 > 60_000) break;
      else await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const pushed = await timedPush(repo, withToken(gitUrl, g.token), t0);
  pushing = false;
  await poll;
  const text = pushed.lines.map((l) => l.line).join("\n");
  if (pushed.code !== 0 || serving < 0) throw new Error(`push of ${app} failed:\n${text}`);
  const at = (re: RegExp): number => pushed.lines.find((l) => re.test(l.line))?.at ?? NaN;
  const installStart = at(/-----> Installing dependencies/);
  const buildEnd = at(/Build succeeded/);
  return {
    app,
    firstRemote: pushed.lines.find((l) => l.line.startsWith("remote:"))?.at ?? NaN,
    buildStart: at(/-----> Building /),
    // hello has no dependencies ("No dependencies to install"): install takes no time.
    installMs: Number.isNaN(installStart) ? 0 : buildEnd - installStart,
    buildEnd,
    deployStart: at(/deploying v\d+/),
    live: at(/v\d+ is live/),
    started: at(/^remote: starting web\.1/),
    running: at(/web\.1 is running/),
    passing: at(/web\.1 passes its health check/),
    pushExit: pushed.exit,
    serving,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const ms = (x: number): string => (Number.isNaN(x) ? "    -" : x.toFixed(0).padStart(5));

async function benchPush(g: GantryProcess, port: number, work: string): Promise<number> {
  const runs: PushTiming[] = [];
  for (let i = 1; i <= PUSHES; i++) runs.push(await pushToServing(g, port, work, `hello${i}`));
  console.log(
    `push-to-serving of examples/hello on a fresh \`gantry up\` (${PUSHES} fresh apps; ms from the start of git push)`,
  );
  console.log(
    `${"app".padEnd(8)} ${"git".padStart(5)} ${"build".padStart(5)} ${"deps".padStart(5)} ${"deploy".padStart(6)} ${"route".padStart(5)} ${"total".padStart(5)}  (push exit)`,
  );
  for (const r of runs) {
    // git: connect + pack + receive until the hook's first line; build: the builder;
    // deploy: release + start + health checks until "live"; route: until the router serves it.
    const git = r.buildStart;
    const build = r.buildEnd - r.buildStart;
    const deploy = r.live - r.buildEnd;
    const route = r.serving - r.live;
    console.log(
      `${r.app.padEnd(8)} ${ms(git)} ${ms(build)} ${ms(r.installMs)} ${ms(deploy).padStart(6)} ${ms(route)} ${ms(r.serving)}  (${r.pushExit.toFixed(0)})`,
    );
  }
  console.log(
    "deploy, inside (median ms): release → instance started " +
      `${median(runs.map((r) => r.started - r.deployStart)).toFixed(0)}, → running (1 s up) ` +
      `${median(runs.map((r) => r.running - r.started)).toFixed(0)}, → passing its check ` +
      `${median(runs.map((r) => r.passing - r.running)).toFixed(0)}, → live ` +
      `${median(runs.map((r) => r.live - r.passing)).toFixed(0)}`,
  );
  const total = median(runs.map((r) => r.serving));
  const install = median(runs.map((r) => r.installMs));
  console.log(
    `push-to-serving: median ${(total / 1000).toFixed(2)} s; dependency install ${install.toFixed(0)} ms, platform overhead ${((total - install) / 1000).toFixed(2)} s`,
  );
  return total / 1000;
}

/** CPU time (ns, from schedstat) and voluntary context switches of a process's main thread. */
function mainThread(pid: number): { ns: number; wakes: number } {
  const ns = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[0]);
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, "utf8");
  return { ns, wakes: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? NaN) };
}

/**
 * What the main thread of `gantry up` does while its apps are idle (the event loop the router
 * serves from on 2 CPUs): CPU ms and wake-ups per second over BENCH_IDLE_SECONDS.
 */
async function idleMainThread(pid: number): Promise<{ cpuMs: number; wakes: number }> {
  const seconds = Number(process.env["BENCH_IDLE_SECONDS"] ?? 10);
  await new Promise((r) => setTimeout(r, 2000)); // the last push settles
  const a = mainThread(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = mainThread(pid);
  return { cpuMs: (b.ns - a.ns) / 1e6 / seconds, wakes: (b.wakes - a.wakes) / seconds };
}

/** The port of an app's first instance, from `gantry ps --json`. */
async function instancePort(g: GantryProcess, app: string): Promise<number> {
  const ps = await g.cli(["ps", app, "--json"]);
  const port = (JSON.parse(ps.stdout) as { port?: number }[])[0]?.port;
  if (ps.code !== 0 || port === undefined)
    throw new Error(`no instance port for ${app}: ${ps.stderr}`);
  return port;
}

// Everything measured (gantry up and its apps, nginx, the probes) runs at the bench's priority.
benchPriority();
const work = mkdtempSync(join(tmpdir(), "gantry-bench-paas-"));
const g = await startGantry({ args: GANTRY_ARGS });
try {
  const port = await routerPort(g);
  const pushS = await benchPush(g, port, work);
  const idle = await idleMainThread(g.pid()!);
  console.log(
    `idle, ${PUSHES} apps running: gantry up's main thread used ${idle.cpuMs.toFixed(1)} ms of CPU a second and woke ${idle.wakes.toFixed(0)} times a second`,
  );
  console.log("\nrouter: direct vs Gantry's router vs nginx");
  const router = await benchRouter({
    appPort: await instancePort(g, "hello1"),
    url: `http://127.0.0.1:${port}`,
    host: "hello1.localhost",
    describe: `the router of the \`gantry up${GANTRY_ARGS.map((a) => ` ${a}`).join("")}\` above, in front of hello1's web.1 (examples/hello)`,
  });
  printRouterResult(router);
  console.log(
    `paas: push-to-serving=${pushS.toFixed(2)}s router/nginx=${router.ratio.toFixed(2)}x router-added-p99=${router.latency.addedP99.toFixed(2)}ms ${latencyNote(router.latency, router.lowLatency)}`,
  );
} finally {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
}
