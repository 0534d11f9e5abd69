/**
 * The client side of `npm run bench:tls`: Debian's wrk over HTTPS, either on kept-alive
 * connections or with a new connection (and a new, full TLS handshake) for every request.
 *
 * wrk keeps the TLS session of a closed connection and offers it again on the next one, so with
 * `Connection: close` about half its handshakes are resumptions. A handshake figure must count
 * full handshakes, so wrk runs with a small shim (LD_PRELOAD, compiled here with Debian's cc)
 * that drops the session before each handshake and counts full and resumed handshakes; the bench
 * checks the second count is 0. The shim also sends the app's name as SNI (wrk would send the
 * URL's 127.0.0.1), so no /etc/hosts entry is needed.
 *
 * Each run also reports the CPU wrk used (and the caller measures the server's), so a reader can
 * see which side was the limit.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

/** Clock ticks a second for /proc's CPU times (USER_HZ). */
const HZ = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

const NO_RESUME_C = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
typedef struct ssl_st SSL;
int SSL_set_session(SSL *, void *);
int SSL_in_before(const SSL *);
int SSL_session_reused(const SSL *);
long SSL_ctrl(SSL *, int, long, void *);
static unsigned long full, resumed;
/* wrk sends the URL's host (127.0.0.1) as SNI: send BENCH_SNI instead (55: set host name). */
long SSL_ctrl(SSL *s, int cmd, long larg, void *parg) {
  static long (*real)(SSL *, int, long, void *);
  if (!real) real = (long (*)(SSL *, int, long, void *))dlsym(RTLD_NEXT, "SSL_ctrl");
  const char *sni = getenv("BENCH_SNI");
  if (cmd == 55 && sni) parg = (void *)sni;
  return real(s, cmd, larg, parg);
}
/* Before a handshake starts, forget the session kept from the last connection. */
int SSL_connect(SSL *s) {
  static int (*real)(SSL *);
  if (!real) real = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_connect");
  if (SSL_in_before(s)) SSL_set_session(s, NULL);
  int r = real(s);
  if (r == 1) __atomic_fetch_add(SSL_session_reused(s) ? &resumed : &full, 1, __ATOMIC_RELAXED);
  return r;
}
__attribute__((destructor)) static void report(void) {
  const char *f = getenv("NORESUME_REPORT");
  FILE *o = f ? fopen(f, "w") : NULL;
  if (o) { fprintf(o, "%lu %lu\\n", full, resumed); fclose(o); }
}
`;

/** Compile the no-resumption shim into `dir`; its path. */
export function buildNoResumeShim(dir: string): string {
  const src = join(dir, "noresume.c");
  const lib = join(dir, "noresume.so");
  writeFileSync(src, NO_RESUME_C);
  execFileSync("cc", ["-O2", "-shared", "-fPIC", "-o", lib, src, "-ldl"], { stdio: "inherit" });
  return lib;
}

export interface WrkRun {
  rps: number;
  /** Non-2xx answers and socket errors. */
  errors: number;
  /** CPU wrk used, in cores (1 = one core busy the whole run). */
  clientCores: number;
  /** Full and resumed handshakes wrk completed. */
  full: number;
  resumed: number;
}

export interface WrkOptions {
  url: string;
  /** Host header and SNI name. */
  host: string;
  connections: number;
  seconds: number;
  /** A new connection for every request (else kept alive). */
  close: boolean;
  /** The shim (buildNoResumeShim) and a file for its counts. */
  shim: string;
  report: string;
}

/** One wrk run (asynchronous: the server may live in this process's event loop's care). */
export async function runWrk(o: WrkOptions): Promise<WrkRun> {
  const args = ["-t2", `-c${o.connections}`, `-d${o.seconds}s`, "-H", `Host: ${o.host}`];
  if (o.close) args.push("-H", "Connection: close");
  const env = { ...process.env, LD_PRELOAD: o.shim, NORESUME_REPORT: o.report, BENCH_SNI: o.host };
  // The shell waits for wrk, so its children's CPU times (fields 16 and 17) are wrk's.
  const script = 'wrk "$@"; echo; echo "cputicks $(cut -d" " -f16,17 /proc/$$/stat)"';
  const { stdout: out } = await promisify(execFile)("sh", ["-c", script, "sh", ...args, o.url], {
    encoding: "utf8",
    env,
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk's output:\n${out}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0);
  const ticks = /cputicks (\d+) (\d+)/.exec(out);
  const clientCores = ticks === null ? NaN : (Number(ticks[1]) + Number(ticks[2])) / HZ / o.seconds;
  const [full, resumed] = readFileSync(o.report, "utf8").trim().split(" ").map(Number);
  return { rps, errors: non2xx + socketErrors, clientCores, full: full!, resumed: resumed! };
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
