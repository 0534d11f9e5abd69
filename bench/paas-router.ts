/**
 * The router half of `npm run bench:paas`: requests/s and p99 latency of a Node hello app
 * [direct], through Gantry's router [router] and through Debian's nginx [nginx] proxying the same
 * app, with wrk -c50. The three take turns for BENCH_ROUNDS rounds of BENCH_SECONDS each; each
 * figure is the median round. bench:paas hands it the router and app of a running `gantry up`;
 * run alone (`node --import tsx bench/paas-router.ts`) it starts a bare Node hello app and a
 * router of its own in this process (ROUTER_WORKERS as `gantry up` would run it: default one
 * worker per CPU, none on 2 CPUs; BENCH_ROUTER_WORKERS overrides), fed by a static route source.
 *
 * wrk and nginx come from Debian; they are installed (apt-get, as root) when missing. nginx runs
 * from a config rendered into a temporary directory: keep-alive upstream, HTTP/1.1 to the app,
 * worker_processes auto.
 *
 * Then latency at a light load (router-latency.ts). BENCH_WRK=0 skips the wrk rounds.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { proxyLocation } from "./nginx-proxy.js";
import { defaultRouterWorkers } from "../src/router/index.js";
import { startRouter } from "../src/router/router.js";
import { StaticRouteSource } from "../src/router/source.js";
import { freePort } from "../test/helpers/ports.js";
import {
  latencyNote,
  measureLatency,
  midpoint,
  printLatency,
  type LatencyResult,
  type Variant,
} from "./router-latency.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 5);
const CONNECTIONS = Number(process.env["BENCH_CONNECTIONS"] ?? 50);
const WORKERS = Number(process.env["BENCH_ROUTER_WORKERS"] ?? defaultRouterWorkers());
/** Niceness for this process and what it starts (inherited), so other work on a shared machine
 * disturbs the three variants less; the same for all of them. BENCH_NICE=0 leaves it alone. */
const NICE = Number(process.env["BENCH_NICE"] ?? -10);

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

export interface RouterBenchResult {
  /** Which router was measured, how it runs. */
  describe: string;
  direct: WrkResult;
  router: WrkResult;
  nginx: WrkResult;
  /** router requests/s ÷ nginx requests/s */
  ratio: number;
  /**
   * Light steady load (latency-probe.mjs): what each hop adds to one request, on the machine as
   * it is (as `gantry up` runs by default).
   */
  latency: LatencyResult;
  /** The same with idle CPUs held ready, as `gantry up --low-latency` holds them (when this
   * machine and user can). */
  lowLatency?: LatencyResult;
}

/** BENCH_WRK=0 skips the throughput rounds (when only the latency probe is wanted). */
const WRK = process.env["BENCH_WRK"] !== "0";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function have(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** wrk and nginx from Debian, installed when missing (bench-only tools). */
export function ensureBenchTools(): void {
  const missing = [
    ["wrk", "wrk"],
    ["nginx", "nginx"],
  ].filter(([cmd]) => !have(cmd!) && !have(`/usr/sbin/${cmd}`));
  if (missing.length === 0) return;
  const pkgs = missing.map(([, pkg]) => pkg!);
  if (process.getuid?.() !== 0)
    throw new Error(`bench:paas needs ${pkgs.join(" and ")}: apt-get install -y ${pkgs.join(" ")}`);
  console.log(`installing ${pkgs.join(", ")} (apt-get)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...pkgs], {
    stdio: "inherit",
    env,
  });
}

/** The app every variant serves: Node's http module, the smallest answer. */
const HELLO = `
const http = require("node:http");
http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("hello world\\n");
}).listen(Number(process.argv[1]), "127.0.0.1", () => process.send && process.send("up"));
`;

async function startHello(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", HELLO, String(port)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (code) => reject(new Error(`the hello app exited (${code})`)));
  });
  return child;
}

async function startNginx(dir: string, port: number, appPort: number): Promise<ChildProcess> {
  mkdirSync(join(dir, "logs"), { recursive: true });
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes auto;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  upstream hello { server 127.0.0.1:${appPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    ${proxyLocation("hello")}
  }
}
`,
  );
  const bin = have("nginx") ? "nginx" : "/usr/sbin/nginx";
  const child = spawn(bin, ["-p", dir, "-c", conf], { stdio: ["ignore", "inherit", "inherit"] });
  for (let i = 0; i < 100; i++) {
    if (await answers(port)) return child;
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill("SIGKILL");
  throw new Error(`nginx did not start (see ${dir}/logs/error.log)`);
}

async function answers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { host: "hello.localhost" } });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * One wrk run: requests/s and latency percentiles (ms). Asynchronous: the router may be serving
 * from this very process.
 */
export async function wrk(
  url: string,
  opts: { host?: string; seconds?: number } = {},
): Promise<WrkResult> {
  const args = ["-t2", `-c${CONNECTIONS}`, `-d${opts.seconds ?? SECONDS}s`, "--latency"];
  if (opts.host !== undefined) args.push("-H", `Host: ${opts.host}`);
  const { stdout: out } = await promisify(execFile)("wrk", [...args, url], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
    if (m === null) return NaN;
    const v = Number(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  const errs = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors =
    Number(errs?.[1] ?? 0) + (sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0));
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk's output:\n${out}`);
  return { rps, p50: pct("50"), p99: pct("99"), errors };
}

function median(results: WrkResult[]): WrkResult {
  return {
    rps: midpoint(results.map((r) => r.rps)),
    p50: midpoint(results.map((r) => r.p50)),
    p99: midpoint(results.map((r) => r.p99)),
    errors: results.reduce((a, r) => a + r.errors, 0),
  };
}

/** A hello app and a router of this process's own in front of it (as `gantry up` would run it). */
async function startOwnRouter(): Promise<{ under: RouterUnderTest; stop: () => Promise<void> }> {
  const appPort = await freePort();
  const app = await startHello(appPort);
  const source = new StaticRouteSource({
    apps: [{ name: "hello", domains: [], instances: [{ address: "127.0.0.1", port: appPort }] }],
  });
  const router = await startRouter({
    listen: { host: "127.0.0.1", port: 0 },
    source,
    workers: WORKERS,
  });
  return {
    under: {
      appPort,
      url: router.url,
      host: "hello.localhost",
      describe: `a router on its own (in this process, workers: ${WORKERS}) in front of a bare Node hello app`,
    },
    stop: async () => {
      await router.close();
      app.kill("SIGTERM");
    },
  };
}

/**
 * This process and what it starts from now on (inherited) at BENCH_NICE, so other work on a
 * shared machine disturbs every variant less; call it before starting anything measured.
 */
export function benchPriority(): void {
  if (NICE === 0) return;
  try {
    setPriority(NICE);
  } catch {
    // not root: run at the usual priority
  }
}

/** A router already serving the app, e.g. the one inside a running `gantry up`. */
export interface RouterUnderTest {
  /** The app's own port (the direct variant; nginx proxies to it too). */
  appPort: number;
  /** The router's base URL and the Host that routes to the app. */
  url: string;
  host: string;
  /** How it runs, for the table's title. */
  describe: string;
}

/**
 * Run the three variants in turns and return the medians: against `given` (a router and app
 * already running), or else a hello app and a router of its own started here.
 */
export async function benchRouter(given?: RouterUnderTest): Promise<RouterBenchResult> {
  ensureBenchTools();
  benchPriority();
  const dir = mkdtempSync(join(tmpdir(), "gantry-bench-router-"));
  const own = given === undefined ? await startOwnRouter() : null;
  const under = given ?? own!.under;
  const appPort = under.appPort;
  const nginxPort = await freePort();
  const nginx = await startNginx(dir, nginxPort, appPort);
  try {
    const variants = {
      direct: (seconds: number) => wrk(`http://127.0.0.1:${appPort}/`, { seconds }),
      router: (seconds: number) => wrk(`${under.url}/`, { host: under.host, seconds }),
      nginx: (seconds: number) =>
        wrk(`http://127.0.0.1:${nginxPort}/`, { host: "hello.localhost", seconds }),
    };
    // Warm up every path (JIT, keep-alive pools) before measuring.
    for (const run of Object.values(variants)) await run(1);
    const wrkRounds = WRK ? ROUNDS : 0;
    const runs: Record<Variant, WrkResult[]> = { direct: [], router: [], nginx: [] };
    for (let round = 1; round <= wrkRounds; round++) {
      for (const name of Object.keys(variants) as Variant[]) {
        const r = await variants[name](SECONDS);
        runs[name].push(r);
        console.log(
          `  round ${round} ${name.padEnd(6)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms${r.errors ? `  errors ${r.errors}` : ""}`,
        );
      }
    }
    const direct = median(runs.direct);
    const viaRouter = median(runs.router);
    const viaNginx = median(runs.nginx);

    const targets = {
      direct: { url: `http://127.0.0.1:${appPort}/` },
      router: { url: `${under.url}/`, host: under.host },
      nginx: { url: `http://127.0.0.1:${nginxPort}/`, host: "hello.localhost" },
    };
    return {
      describe: under.describe,
      direct,
      router: viaRouter,
      nginx: viaNginx,
      ratio: viaRouter.rps / viaNginx.rps,
      ...(await measureLatency(targets)),
    };
  } finally {
    nginx.kill("SIGTERM");
    await own?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table and the summary line the lead merges into bench:paas. */
export function printRouterResult(r: RouterBenchResult): void {
  const row = (name: string, x: WrkResult): string =>
    `${name.padEnd(8)} ${x.rps.toFixed(0).padStart(9)} ${x.p50.toFixed(2).padStart(9)} ${x.p99.toFixed(2).padStart(9)} ${String(x.errors).padStart(7)}`;
  console.log(`\n${r.describe}\nwrk -c${CONNECTIONS}, ${SECONDS} s × ${ROUNDS} rounds (median)`);
  console.log(
    `${"variant".padEnd(8)} ${"req/s".padStart(9)} ${"p50 ms".padStart(9)} ${"p99 ms".padStart(9)} ${"errors".padStart(7)}`,
  );
  console.log(row("direct", r.direct));
  console.log(row("router", r.router));
  console.log(row("nginx", r.nginx));
  printLatency(r.latency);
  if (r.lowLatency !== undefined) printLatency(r.lowLatency);
  console.log(
    `router: router/nginx=${r.ratio.toFixed(2)}x router-added-p99=${r.latency.addedP99.toFixed(2)}ms ${latencyNote(r.latency, r.lowLatency)}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printRouterResult(await benchRouter());
}
