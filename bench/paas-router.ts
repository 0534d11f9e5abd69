/**
 * The router half of `npm run bench:paas`: requests/s and p99 latency of a Node hello app
 * [direct], through Gantry's router [router] and through Debian's nginx [nginx] proxying the same
 * app, with wrk -c50. The three take turns for BENCH_ROUNDS rounds of BENCH_SECONDS each; each
 * figure is the median round. Run alone: `node --import tsx bench/paas-router.ts`.
 *
 * wrk and nginx come from Debian; they are installed (apt-get, as root) when missing. nginx runs
 * from a config rendered into a temporary directory: keep-alive upstream, HTTP/1.1 to the app,
 * worker_processes auto. The router runs as `gantry up` runs it (ROUTER_WORKERS, default: one
 * worker per CPU; BENCH_ROUTER_WORKERS overrides), fed by a static route source.
 *
 * Then latency at a light load: bench/latency-probe.mjs over the three interleaved, BENCH_PROBE_ROUNDS
 * rounds of BENCH_PROBE_SECONDS, first on the machine as it is, then with idle CPUs held ready as
 * `gantry up --low-latency` holds them (when this machine and user can). BENCH_WRK=0 skips the
 * wrk rounds.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { defaultRouterWorkers } from "../src/router/index.js";
import { startRouter } from "../src/router/router.js";
import { StaticRouteSource } from "../src/router/source.js";
import { holdCpuLatency, type CpuLatencyHold } from "../src/server/cpu-latency.js";
import { freePort } from "../test/helpers/ports.js";

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
  /** router p99 − direct p99 at the probe's light load, ms (of `latency`) */
  addedP99: number;
}

export interface LatencyResult {
  /** Whether idle CPUs were held at 0 µs wake-up latency during these rounds. */
  lowLatency: boolean;
  /** The median round of each variant, by p99. */
  probe: { direct: ProbeResult; router: ProbeResult; nginx: ProbeResult };
  /** router p99 − direct p99 in the same round, median over the rounds, ms */
  addedP99: number;
  /** nginx p99 − direct p99 in the same round, median over the rounds, ms: the peer's figure */
  nginxAddedP99: number;
  /** How late a 0.5 ms sleep woke (bench/wake-jitter.mjs) just before the rounds, ms. */
  wake: { p50: number; p99: number };
}

export interface ProbeResult {
  sent: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
}

/** BENCH_WRK=0 skips the throughput rounds (when only the latency probe is wanted). */
const WRK = process.env["BENCH_WRK"] !== "0";
const PROBE_RATE = Number(process.env["BENCH_PROBE_RATE"] ?? 500);
const PROBE_SECONDS = Number(process.env["BENCH_PROBE_SECONDS"] ?? 8);
const PROBE_ROUNDS = Number(process.env["BENCH_PROBE_ROUNDS"] ?? 7);
/**
 * One connection per target: the three targets share one app and one probe, so with several
 * connections their requests queue behind each other there, and the p99 measures that queueing
 * (worse for whichever target takes longer) rather than the hop.
 */
const PROBE_CONNS = Number(process.env["BENCH_PROBE_CONNECTIONS"] ?? 1);

/**
 * One latency-probe run in its own process over every target at once, interleaved (asynchronous:
 * the router may run in this one).
 */
export async function probe(
  targets: Record<string, { url: string; host?: string }>,
): Promise<Record<string, ProbeResult>> {
  const script = join(import.meta.dirname, "latency-probe.mjs");
  const specs = Object.entries(targets).map(
    ([name, t]) => `${name}=${t.url}${t.host === undefined ? "" : `@${t.host}`}`,
  );
  const args = [script, String(PROBE_RATE), String(PROBE_SECONDS), String(PROBE_CONNS), ...specs];
  const { stdout } = await promisify(execFile)(process.execPath, args, { encoding: "utf8" });
  return JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, ProbeResult>;
}

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
    location / {
      proxy_pass http://hello;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-Id $request_id;
    }
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

function midpoint(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function median(results: WrkResult[]): WrkResult {
  const mid = midpoint;
  return {
    rps: mid(results.map((r) => r.rps)),
    p50: mid(results.map((r) => r.p50)),
    p99: mid(results.map((r) => r.p99)),
    errors: results.reduce((a, r) => a + r.errors, 0),
  };
}

type Variant = "direct" | "router" | "nginx";

/**
 * PROBE_ROUNDS latency probes over the three variants, interleaved; what the router and nginx
 * add is taken per round (measured in the same seconds as direct), then the median.
 */
async function latencyRounds(
  targets: Record<Variant, { url: string; host?: string }>,
  lowLatency: boolean,
): Promise<LatencyResult> {
  const probed: Record<Variant, ProbeResult[]> = { direct: [], router: [], nginx: [] };
  const label = lowLatency ? "low-latency" : "untuned";
  const wake = await wakeJitter();
  console.log(
    `  ${label}: a 0.5 ms sleep wakes late by p50 ${wake.p50.toFixed(3)} ms, p99 ${wake.p99.toFixed(3)} ms`,
  );
  for (let round = 1; round <= PROBE_ROUNDS; round++) {
    const rs = await probe(targets);
    for (const name of Object.keys(targets) as Variant[]) {
      const r = rs[name]!;
      probed[name].push(r);
      console.log(
        `  probe ${label} ${round} ${name.padEnd(6)} ${PROBE_RATE} req/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  max ${r.max.toFixed(2)} ms${r.errors ? `  errors ${r.errors}` : ""}`,
      );
    }
  }
  const byP99 = (xs: ProbeResult[]): ProbeResult =>
    [...xs].sort((a, b) => a.p99 - b.p99)[Math.floor(xs.length / 2)]!;
  const added = (name: Variant): number =>
    midpoint(probed[name].map((r, i) => r.p99 - probed.direct[i]!.p99));
  return {
    lowLatency,
    probe: {
      direct: byP99(probed.direct),
      router: byP99(probed.router),
      nginx: byP99(probed.nginx),
    },
    addedP99: added("router"),
    nginxAddedP99: added("nginx"),
    wake,
  };
}

/** The machine's own wake-up lateness (bench/wake-jitter.mjs, in its own process). */
async function wakeJitter(): Promise<{ p50: number; p99: number }> {
  const script = join(import.meta.dirname, "wake-jitter.mjs");
  const { stdout } = await promisify(execFile)(process.execPath, [script], { encoding: "utf8" });
  return JSON.parse(stdout.trim()) as { p50: number; p99: number };
}

/** Run the three variants in turns and return the medians. */
export async function benchRouter(): Promise<RouterBenchResult> {
  ensureBenchTools();
  if (NICE !== 0) {
    try {
      setPriority(NICE);
    } catch {
      // not root: run at the usual priority
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "gantry-bench-router-"));
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
  const nginxPort = await freePort();
  const nginx = await startNginx(dir, nginxPort, appPort);
  try {
    const variants = {
      direct: (seconds: number) => wrk(`http://127.0.0.1:${appPort}/`, { seconds }),
      router: (seconds: number) => wrk(`${router.url}/`, { host: "hello.localhost", seconds }),
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
      router: { url: `${router.url}/`, host: "hello.localhost" },
      nginx: { url: `http://127.0.0.1:${nginxPort}/`, host: "hello.localhost" },
    };
    const latency = await latencyRounds(targets, false);
    let lowLatency: LatencyResult | undefined;
    let hold: CpuLatencyHold | undefined;
    try {
      hold = holdCpuLatency(0);
      lowLatency = await latencyRounds(targets, true);
    } catch (err) {
      if (hold !== undefined) throw err;
      console.log(`  (${(err as Error).message}: no low-latency rounds)`);
    } finally {
      hold?.release();
    }
    return {
      direct,
      router: viaRouter,
      nginx: viaNginx,
      ratio: viaRouter.rps / viaNginx.rps,
      latency,
      ...(lowLatency === undefined ? {} : { lowLatency }),
      addedP99: latency.addedP99,
    };
  } finally {
    nginx.kill("SIGTERM");
    await router.close();
    app.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table and the summary line the lead merges into bench:paas. */
export function printRouterResult(r: RouterBenchResult): void {
  const row = (name: string, x: WrkResult): string =>
    `${name.padEnd(8)} ${x.rps.toFixed(0).padStart(9)} ${x.p50.toFixed(2).padStart(9)} ${x.p99.toFixed(2).padStart(9)} ${String(x.errors).padStart(7)}`;
  console.log(
    `\nwrk -c${CONNECTIONS}, ${SECONDS} s × ${ROUNDS} rounds (median); router workers: ${WORKERS}`,
  );
  console.log(
    `${"variant".padEnd(8)} ${"req/s".padStart(9)} ${"p50 ms".padStart(9)} ${"p99 ms".padStart(9)} ${"errors".padStart(7)}`,
  );
  console.log(row("direct", r.direct));
  console.log(row("router", r.router));
  console.log(row("nginx", r.nginx));
  const table = (x: LatencyResult): void => {
    console.log(
      `\nlatency at ${PROBE_RATE} req/s each over ${PROBE_CONNS} keep-alive connection(s) each, the three interleaved, ${PROBE_SECONDS} s × ${PROBE_ROUNDS} rounds, ${x.lowLatency ? "idle CPUs held ready (as gantry up --low-latency)" : "CPU idle states untuned"}`,
    );
    console.log(
      `${"variant".padEnd(8)} ${"p50 ms".padStart(9)} ${"p99 ms".padStart(9)} ${"max ms".padStart(9)}   (median round by p99)`,
    );
    for (const [name, p] of Object.entries(x.probe)) {
      console.log(
        `${name.padEnd(8)} ${p.p50.toFixed(3).padStart(9)} ${p.p99.toFixed(3).padStart(9)} ${p.max.toFixed(2).padStart(9)}`,
      );
    }
    console.log(
      `added p99 (median of per-round differences): router ${x.addedP99.toFixed(2)} ms, nginx ${x.nginxAddedP99.toFixed(2)} ms; a 0.5 ms sleep woke late by ${x.wake.p99.toFixed(2)} ms at p99`,
    );
  };
  table(r.latency);
  if (r.lowLatency !== undefined) table(r.lowLatency);
  console.log(
    `router: router/nginx=${r.ratio.toFixed(2)}x router-added-p99=${r.addedP99.toFixed(2)}ms ${addedNote(r)}`,
  );
}

/** nginx's figure beside the router's, the machine's wake-up lateness, and the low-latency run. */
export function addedNote(r: RouterBenchResult): string {
  const ms = (x: number): string => `${x.toFixed(2)}ms`;
  const l = r.latency;
  const tuned =
    r.lowLatency === undefined
      ? ""
      : `; --low-latency: router ${ms(r.lowLatency.addedP99)} nginx ${ms(r.lowLatency.nginxAddedP99)} wake-p99 ${ms(r.lowLatency.wake.p99)}`;
  return `(nginx ${ms(l.nginxAddedP99)}; wake-p99 ${ms(l.wake.p99)}${tuned})`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printRouterResult(await benchRouter());
}
