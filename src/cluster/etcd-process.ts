/**
 * One etcd process, as a child of the Gantry server: Debian's /usr/bin/etcd started with argv
 * (never a shell), its output appended to DATA_DIR/etcd.log, its pid in DATA_DIR/etcd.pid.
 * On Linux it is started through util-linux's setpriv with a parent-death signal, so a server
 * that is SIGKILLed takes its etcd down with it (SIGTERM); the pid file covers the rest.
 */
import { spawn, type ChildProcess } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { etcdArgs, type EtcdLaunch } from "./etcd-args.js";
import { removePidFile, stopStaleEtcd, writePidFile } from "./etcd-pidfile.js";
import { EtcdStartError, ServerRemovedError } from "./errors.js";

export type { EtcdLaunch } from "./etcd-args.js";

export interface EtcdExit {
  code: number | null;
  signal: string | null;
  /** etcd said it was permanently removed from the cluster: starting it again is useless. */
  removed: boolean;
}

export interface SupervisedEtcd {
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly pid: number | undefined;
  readonly exited: Promise<EtcdExit>;
  stop(): Promise<void>;
}

export const ETCD_BIN = process.env["GANTRY_ETCD_BIN"] ?? "/usr/bin/etcd";
const SETPRIV = "/usr/bin/setpriv";
/** What etcd logs when it finds that it is no longer a member. */
export const REMOVED_LINE = "the member has been permanently removed from the cluster";
/** etcd.log is moved to etcd.log.1 at a start when it grew beyond this. */
const LOG_ROTATE_BYTES = 20 * 1024 * 1024;
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
/** While a member waits for its cluster, it says so this often. */
const WAIT_SAY_MS = 10_000;

/** The files next to the etcd data directory (DATA_DIR/etcd). */
export const etcdFiles = (dir: string): { log: string; pid: string } => ({
  log: join(dirname(dir), "etcd.log"),
  pid: join(dirname(dir), "etcd.pid"),
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What etcd.log holds from byte `from` on (at most its last 64 KiB). */
export function logSince(file: string, from: number): string {
  try {
    const size = statSync(file).size;
    const start = Math.max(from, size - 65_536);
    if (size <= start) return "";
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      return buf.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

/** The last lines of a log text, for error messages. */
export const lastLines = (text: string, n = 15): string =>
  text.trimEnd().split("\n").slice(-n).join("\n");

async function answers(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/version`, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

function openLog(file: string): { fd: number; offset: number } {
  if (existsSync(file) && statSync(file).size > LOG_ROTATE_BYTES) renameSync(file, `${file}.1`);
  const fd = openSync(file, "a", 0o600);
  return { fd, offset: existsSync(file) ? statSync(file).size : 0 };
}

function spawnEtcd(args: string[], fd: number): ChildProcess {
  // setpriv --pdeathsig: etcd gets SIGTERM when the server dies, SIGKILL included.
  const [cmd, argv] =
    process.platform === "linux" && existsSync(SETPRIV)
      ? [SETPRIV, ["--pdeathsig", "TERM", "--", ETCD_BIN, ...args]]
      : [ETCD_BIN, args];
  // Its own session: a Ctrl-C (SIGINT to the terminal's process group) or a signal to the
  // server's group reaches the server, which stops etcd in its order, not etcd at once.
  return spawn(cmd, argv, { stdio: ["ignore", fd, fd], detached: true });
}

// Every etcd this process runs dies with it, also on process.exit() without a stop.
const running = new Set<ChildProcess>();
let exitHook = false;
function killOnExit(child: ChildProcess): void {
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const c of running) c.kill("SIGTERM");
    });
  }
  running.add(child);
  child.once("exit", () => running.delete(child));
}

/**
 * Start etcd and resolve once its client URL answers. Rejects with ServerRemovedError when etcd
 * says it was removed from the cluster, EtcdStartError (with the log's tail) for anything else.
 */
export async function launchEtcd(l: EtcdLaunch): Promise<SupervisedEtcd> {
  if (!existsSync(ETCD_BIN))
    throw new EtcdStartError(
      `${ETCD_BIN} is missing: a server that runs its own etcd needs Debian's etcd-server (apt-get install etcd-server)`,
    );
  const files = etcdFiles(l.dir);
  mkdirSync(dirname(l.dir), { recursive: true, mode: 0o700 });
  await stopStaleEtcd(files.pid, l.dir, l.log);
  const { fd, offset } = openLog(files.log);
  let child: ChildProcess;
  try {
    child = spawnEtcd(etcdArgs(l), fd);
  } finally {
    closeSync(fd);
  }
  killOnExit(child);
  let done = false;
  const exited = new Promise<EtcdExit>((resolve) => {
    const finish = (code: number | null, signal: string | null): void => {
      if (done) return;
      done = true;
      removePidFile(files.pid);
      resolve({ code, signal, removed: logSince(files.log, offset).includes(REMOVED_LINE) });
    };
    child.once("exit", finish);
    child.once("error", (err) => {
      l.log(`etcd: ${err.message}`);
      finish(null, null);
    });
  });
  if (child.pid !== undefined) writePidFile(files.pid, child.pid);
  const stop = async (): Promise<void> => {
    if (!done) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
  };
  const timeoutMs = l.startTimeoutMs ?? START_TIMEOUT_MS;
  const began = Date.now();
  const deadline = began + timeoutMs;
  let said = began;
  l.log(`etcd: starting member ${l.name} (pid ${child.pid}); its log: ${files.log}`);
  for (;;) {
    if (done) {
      const exit = await exited;
      if (exit.removed) throw new ServerRemovedError();
      throw startError(
        l,
        `exited during start-up (code ${exit.code}, signal ${exit.signal})`,
        files.log,
        offset,
      );
    }
    if (await answers(l.clientUrl)) break;
    if (Date.now() > deadline) {
      await stop();
      throw startError(
        l,
        `did not answer on ${l.clientUrl} within ${timeoutMs / 1000} s`,
        files.log,
        offset,
      );
    }
    if (l.signal?.aborted === true) {
      await stop();
      throw new EtcdStartError(`etcd (member ${l.name}) was stopped while starting`);
    }
    if (Date.now() - said >= WAIT_SAY_MS) {
      said = Date.now();
      l.log(
        `etcd: member ${l.name} does not serve yet (${Math.round((said - began) / 1000)} s): a member serves clients once a majority of its cluster's members run; start the other servers`,
      );
    }
    await sleep(100);
  }
  l.log(
    `etcd: member ${l.name} (pid ${child.pid}) serves ${l.clientUrl}, peers ${l.peerUrl}; log ${files.log}`,
  );
  return {
    clientUrl: l.clientUrl,
    peerUrl: l.peerUrl,
    get pid() {
      return done ? undefined : child.pid;
    },
    exited,
    stop,
  };
}

function startError(l: EtcdLaunch, what: string, log: string, offset: number): EtcdStartError {
  const text = logSince(log, offset);
  const hint = /address already in use/.test(text)
    ? " (an address is taken: choose others with --etcd-peer-addr and --etcd-client-addr)"
    : "";
  return new EtcdStartError(
    `etcd (member ${l.name}) ${what}${hint}; the end of ${log}:\n${lastLines(text)}`,
  );
}
