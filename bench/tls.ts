/**
 * `npm run bench:tls` — Gantry's router against nginx over HTTPS, in one run, with the same
 * ECDSA P-256 certificate and key, proxying the same app instance:
 *
 * - https: requests/s on kept-alive connections (wrk -c50);
 * - handshakes: new connections/s, each request on a new connection with a full TLS 1.3
 *   handshake (no session resumption; bench/tls/handshakes.c, see tls-client.ts).
 *
 * The router is the one inside a fresh `gantry up --https-addr …` (bin/gantry from dist/: run
 * `npm run build` first), serving examples/hello pushed with git; the certificate is given with
 * `gantry domains:add` and `gantry certs:add`. The router serves HTTPS from its main process
 * (router workers take plain HTTP only), so nginx gets `worker_processes 1`. The runs take turns
 * for BENCH_ROUNDS rounds of BENCH_SECONDS each, who goes first changing every round, so the
 * machine's noise hits all; each figure is the median round. Beside each figure: the CPU the
 * server and the client used (in cores) and the server's CPU per request, to see which side was
 * the limit. The new-connection runs also measure a bare Node TLS server (tls/bare-node.mjs):
 * the floor for anything built on Node's tls module, to tell the router's cost from Node's.
 *
 * wrk, nginx, cc and OpenSSL's headers come from Debian and are installed (apt-get, as root) when
 * missing. BENCH_MODES=handshakes (or https) runs one half; BENCH_CPU_PROF=DIR writes a
 * `node --cpu-prof` profile of `gantry up` there.
 * Last line: `tls: https router/nginx=<x>x handshakes router/nginx=<x>x`.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { defaultRouterWorkers } from "../src/router/index.js";
import { selfSigned } from "../test/helpers/certs.js";
import { startGantry } from "../test/helpers/gantry.js";
import { HELLO, eventually, localRepo, push, stopGantry, withToken } from "../test/helpers/paas.js";
import { freePort } from "../test/helpers/ports.js";
import { benchPriority, ensureBenchTools } from "./paas-router.js";
import { midpoint } from "./router-latency.js";
import { startNginxTls } from "./tls-nginx.js";
import {
  buildClients,
  childrenOf,
  cores,
  cpuTicks,
  keptAlive,
  newConnections,
  type ClientRun,
} from "./tls-client.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 5);
const CONNECTIONS = Number(process.env["BENCH_CONNECTIONS"] ?? 50);
const HANDSHAKE_CONNECTIONS = Number(process.env["BENCH_HANDSHAKE_CONNECTIONS"] ?? 16);
/** Extra `gantry up` options, e.g. BENCH_GANTRY_ARGS="--router-workers 1". */
const GANTRY_ARGS = (process.env["BENCH_GANTRY_ARGS"] ?? "").split(" ").filter((a) => a !== "");
/** A directory for `node --cpu-prof` profiles of `gantry up` (written when it stops). */
const CPU_PROF = process.env["BENCH_CPU_PROF"];
/** Which figures: both by default, or BENCH_MODES=handshakes (or https) while profiling one. */
const MODES = (process.env["BENCH_MODES"] ?? "https handshakes").split(/[ ,]+/);
const HOST = "www.bench.test";

type Server = "router" | "nginx" | "node";
type Mode = "https" | "handshakes";
interface Run extends ClientRun {
  serverCores: number;
  /** The server's CPU per answered request, µs. */
  cpuEach: number;
}

/** cc and OpenSSL's headers for the clients (tls-client.ts), from Debian, installed when missing. */
function ensureCompiler(): void {
  let ok = existsSync("/usr/include/openssl/ssl.h");
  try {
    execFileSync("sh", ["-c", "command -v cc"], { stdio: "ignore" });
  } catch {
    ok = false;
  }
  if (ok) return;
  const pkgs = ["gcc", "libc6-dev", "libssl-dev"];
  if (process.getuid?.() !== 0)
    throw new Error(`bench:tls needs a C compiler: apt-get install -y ${pkgs.join(" ")}`);
  console.log(`installing ${pkgs.join(", ")} (apt-get)…`);
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...pkgs], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

/** GET / over HTTPS with SNI `HOST`, trusting only `ca`: the status and what TLS was agreed. */
function probe(port: number, ca: string): Promise<{ status: number; tls: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, servername: HOST, ca, headers: { host: HOST }, agent: false },
      (res) => {
        const s = res.socket as TLSSocket;
        const key = s.getEphemeralKeyInfo();
        const cert = s.getPeerCertificate();
        const tls = `${s.getProtocol()} ${s.getCipher().name} ${key !== null && "name" in key ? key.name : "?"} ${cert.asn1Curve ?? "?"} certificate`;
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, tls }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const fmt = (r: Run): string =>
  `${r.rps.toFixed(0).padStart(7)}/s  server ${r.serverCores.toFixed(2)} cores ` +
  `(${r.cpuEach.toFixed(0).padStart(4)} µs CPU each)  client ${r.clientCores.toFixed(2)} cores` +
  `${r.errors > 0 ? `  errors ${r.errors}` : ""}`;

/** bench/tls/bare-node.mjs on a free port, once it listens. */
async function startBareNode(
  certFile: string,
  keyFile: string,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const script = join(import.meta.dirname, "tls", "bare-node.mjs");
  const child = spawn(process.execPath, [script, String(port), certFile, keyFile], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`bare-node.mjs exited (${code})`)));
  });
  return { child, port };
}

benchPriority();
ensureBenchTools();
ensureCompiler();
const dir = mkdtempSync(join(tmpdir(), "gantry-bench-tls-"));
const clients = buildClients(dir);
const cert = await selfSigned([HOST], { days: 2 });
const certFile = join(dir, "site.crt");
const keyFile = join(dir, "site.key");
writeFileSync(certFile, cert.certPem);
writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });

const httpsPort = await freePort();
const g = await startGantry({
  args: ["--https-addr", `127.0.0.1:${httpsPort}`, ...GANTRY_ARGS],
  ...(CPU_PROF === undefined ? {} : { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", CPU_PROF] }),
});
let nginx: ReturnType<typeof startNginxTls> | undefined;
let stopBare = (): void => undefined;
try {
  const cli = async (args: string[]): Promise<string> => {
    const r = await g.cli(args);
    if (r.code !== 0) throw new Error(`gantry ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const { gitUrl } = JSON.parse(await cli(["apps:create", "hello", "--json"])) as {
    gitUrl: string;
  };
  const pushed = await push(await localRepo(dir, HELLO), withToken(gitUrl, g.token));
  if (pushed.code !== 0) throw new Error(`push failed:\n${pushed.stderr}`);
  await cli(["domains:add", "hello", HOST]);
  await cli(["certs:add", "hello", "--cert", certFile, "--key", keyFile]);
  const routerTls = await eventually("the router to serve hello over HTTPS", async () => {
    const r = await probe(httpsPort, cert.certPem);
    return r.status === 200 ? r.tls : undefined;
  });
  const ps = JSON.parse(await cli(["ps", "hello", "--json"])) as { port?: number }[];
  const appPort = ps[0]?.port;
  if (appPort === undefined) throw new Error("hello has no instance port");

  const nginxPort = await freePort();
  nginx = startNginxTls({
    dir: join(dir, "nginx"),
    port: nginxPort,
    appPort,
    host: HOST,
    certFile,
    keyFile,
    workers: 1,
  });
  const nginxTls = await eventually("nginx to serve hello over HTTPS", async () => {
    const r = await probe(nginxPort, cert.certPem);
    return r.status === 200 ? r.tls : undefined;
  });
  const nginxWorkers = await eventually("nginx's worker", () => {
    const kids = childrenOf(nginx!.pid);
    return kids.length > 0 ? kids : undefined;
  });

  const bare = await startBareNode(certFile, keyFile);
  const servers: Record<Server, { port: number; pids: number[] }> = {
    router: { port: httpsPort, pids: [g.pid()!] },
    nginx: { port: nginxPort, pids: nginxWorkers },
    node: { port: bare.port, pids: [bare.child.pid!] },
  };
  stopBare = () => bare.child.kill("SIGTERM");
  const measure = async (server: Server, mode: Mode, seconds: number): Promise<Run> => {
    const s = servers[server];
    const before = cpuTicks(s.pids);
    const o = {
      port: s.port,
      host: HOST,
      connections: mode === "https" ? CONNECTIONS : HANDSHAKE_CONNECTIONS,
      seconds,
    };
    const run = await (mode === "https" ? keptAlive(clients, o) : newConnections(clients, o));
    const serverCores = cores(cpuTicks(s.pids) - before, seconds);
    return { ...run, serverCores, cpuEach: (serverCores * 1e6) / run.rps };
  };

  const given = GANTRY_ARGS.indexOf("--router-workers");
  const workers = given >= 0 ? GANTRY_ARGS[given + 1] : defaultRouterWorkers();
  console.log(
    `router: \`gantry up${GANTRY_ARGS.map((a) => ` ${a}`).join("")}\` (router workers: ${workers}; HTTPS is served by its main process)`,
  );
  const nginxVersion = spawnSync("nginx", ["-v"], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${process.env["PATH"]}:/usr/sbin` },
  }).stderr.trim();
  console.log(`${nginxVersion}: worker_processes 1, as the router's one process`);
  console.log(`TLS  router: ${routerTls}\n     nginx:  ${nginxTls}`);
  console.log(
    `https: wrk -t2 -c${CONNECTIONS}, kept alive; handshakes: ${HANDSHAKE_CONNECTIONS} threads of bench/tls/handshakes.c, a new connection and full handshake (no resumption) per request`,
  );
  console.log(
    "node: bench/tls/bare-node.mjs, Node's tls module set up as the router's and nothing else (handshakes only; the floor for Node)",
  );

  const modes = (["https", "handshakes"] as Mode[]).filter((m) => MODES.includes(m));
  const variants: Record<Mode, Server[]> = {
    https: ["router", "nginx"],
    handshakes: ["router", "nginx", "node"],
  };
  for (const mode of modes) for (const server of variants[mode]) await measure(server, mode, 1);
  const runs: Record<Mode, Record<Server, Run[]>> = {
    https: { router: [], nginx: [], node: [] },
    handshakes: { router: [], nginx: [], node: [] },
  };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of modes) {
      // Who goes first changes every round.
      const list = variants[mode];
      const k = (round - 1) % list.length;
      for (const server of [...list.slice(k), ...list.slice(0, k)]) {
        const r = await measure(server, mode, SECONDS);
        runs[mode][server].push(r);
        console.log(`  round ${round} ${mode.padEnd(10)} ${server.padEnd(6)} ${fmt(r)}`);
      }
    }
  }
  const med = (xs: Run[]): Run => ({
    rps: midpoint(xs.map((x) => x.rps)),
    serverCores: midpoint(xs.map((x) => x.serverCores)),
    cpuEach: midpoint(xs.map((x) => x.cpuEach)),
    clientCores: midpoint(xs.map((x) => x.clientCores)),
    errors: xs.reduce((a, x) => a + x.errors, 0),
  });
  console.log(`\nmedian of ${ROUNDS} rounds of ${SECONDS} s`);
  const ratio: Record<Mode, number> = { https: 0, handshakes: 0 };
  const perCpu: Record<Mode, number> = { https: 0, handshakes: 0 };
  let unsaturated = false;
  for (const mode of modes) {
    const r = med(runs[mode].router);
    const n = med(runs[mode].nginx);
    ratio[mode] = r.rps / n.rps;
    perCpu[mode] = n.cpuEach / r.cpuEach;
    if (Math.max(r.serverCores, n.serverCores) < 0.9) unsaturated = true;
    const unit = mode === "https" ? "requests" : "new connections";
    console.log(`${mode.padEnd(10)} router ${fmt(r)}   (${unit})`);
    console.log(`${mode.padEnd(10)} nginx  ${fmt(n)}`);
    if (mode === "handshakes")
      console.log(`${mode.padEnd(10)} node   ${fmt(med(runs[mode].node))}`);
  }
  if (unsaturated)
    console.log(
      "note: a server below 0.9 cores was not the limit (the machine's other load or the client was): compare the per-CPU figures",
    );
  console.log(
    `per server CPU (requests per CPU-second, each server's capacity on one core): ${modes.map((m) => `${m} router/nginx=${perCpu[m].toFixed(2)}x`).join(" ")}`,
  );
  if (modes.length === 2)
    console.log(
      `tls: https router/nginx=${ratio.https.toFixed(2)}x handshakes router/nginx=${ratio.handshakes.toFixed(2)}x`,
    );
} finally {
  nginx?.stop();
  stopBare();
  await stopGantry(g);
  rmSync(dir, { recursive: true, force: true });
}
