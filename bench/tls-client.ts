/**
 * The clients of `npm run bench:tls`, built here from bench/tls/*.c with Debian's cc:
 *
 * - kept-alive HTTPS: Debian's wrk, with a preloaded shim (tls/sni.c) that sends the app's name
 *   as SNI (wrk would send the URL's 127.0.0.1);
 * - new connections: tls/handshakes.c, blocking threads that each open connection after
 *   connection, a full TLS handshake each (no session offered, so no resumption: it counts and
 *   reports any), one request with `Connection: close`. Not wrk: wrk keeps a closed
 *   connection's session and offers it again (half its handshakes were resumptions), and it
 *   busy-polls during a handshake, so a slower server made it burn more CPU on the same two cores.
 *
 * Each run reports the CPU the client used (in cores), and the caller measures the server's, so a
 * reader can see which side was the limit.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

/** Clock ticks a second for /proc's CPU times (USER_HZ). */
const HZ = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
const SRC = join(import.meta.dirname, "tls");

export interface Clients {
  sniShim: string;
  handshakes: string;
}

/** Compile the clients into `dir`. */
export function buildClients(dir: string): Clients {
  const sniShim = join(dir, "sni.so");
  const handshakes = join(dir, "handshakes");
  const cc = (args: string[]): void => {
    execFileSync("cc", ["-O2", ...args], { stdio: "inherit" });
  };
  cc(["-shared", "-fPIC", "-o", sniShim, join(SRC, "sni.c"), "-ldl"]);
  cc(["-o", handshakes, join(SRC, "handshakes.c"), "-lssl", "-lcrypto", "-lpthread"]);
  return { sniShim, handshakes };
}

export interface ClientRun {
  /** Answered requests a second (each on its own connection for handshake runs). */
  rps: number;
  /** Non-2xx answers, socket errors, failed connections. */
  errors: number;
  /** CPU the client used, in cores (1 = one core busy the whole run). */
  clientCores: number;
}

export interface RunOptions {
  port: number;
  /** Host header and SNI name. */
  host: string;
  connections: number;
  seconds: number;
}

/** Run `cmd` under sh, whose children's CPU (fields 16, 17 of its stat) is then `cmd`'s. */
async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const script = '"$@"; echo; echo "cputicks $(cut -d" " -f16,17 /proc/$$/stat)"';
  const { stdout } = await promisify(execFile)("sh", ["-c", script, "sh", cmd, ...args], {
    encoding: "utf8",
    env,
  });
  return stdout;
}

function clientCores(out: string, seconds: number): number {
  const m = /cputicks (\d+) (\d+)/.exec(out);
  return m === null ? NaN : (Number(m[1]) + Number(m[2])) / HZ / seconds;
}

/** wrk on kept-alive connections (asynchronous: the server may be in this process's care). */
export async function keptAlive(c: Clients, o: RunOptions): Promise<ClientRun> {
  const args = ["-t2", `-c${o.connections}`, `-d${o.seconds}s`, "-H", `Host: ${o.host}`];
  const env = { ...process.env, LD_PRELOAD: c.sniShim, BENCH_SNI: o.host };
  const out = await timed("wrk", [...args, `https://127.0.0.1:${o.port}/`], env);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk's output:\n${out}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0);
  return { rps, errors: non2xx + socketErrors, clientCores: clientCores(out, o.seconds) };
}

/** A new connection and full handshake for every request; fails if any handshake resumed. */
export async function newConnections(c: Clients, o: RunOptions): Promise<ClientRun> {
  const args = ["127.0.0.1", String(o.port), o.host, String(o.connections), String(o.seconds)];
  const out = await timed(c.handshakes, args, process.env);
  const m = /connections (\d+) failed (\d+) resumed (\d+) seconds ([\d.]+) rate ([\d.]+)/.exec(out);
  if (m === null) throw new Error(`cannot read the handshake client's output:\n${out}`);
  if (Number(m[3]) > 0) throw new Error(`${m[3]} handshakes were resumptions, not full ones`);
  return { rps: Number(m[5]), errors: Number(m[2]), clientCores: clientCores(out, Number(m[4])) };
}

/** CPU ticks (user + system, all threads) used so far by these processes. */
export function cpuTicks(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    sum += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  }
  return sum;
}

/** Ticks → cores busy over `seconds`. */
export const cores = (ticks: number, seconds: number): number => ticks / HZ / seconds;

/** The processes whose parent is `pid` (nginx's workers under its master). */
export function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) kids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}
