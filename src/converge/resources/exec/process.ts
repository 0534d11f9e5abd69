import { spawn } from "node:child_process";

/** How many trailing output lines a failure message keeps. */
export const TAIL_LINES = 20;
/** After the command exits, how long its pipes may stay open (a daemon it started holds them). */
const PIPE_GRACE_MS = 200;

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Run as this user (root dropping privileges); supplementary groups are cleared by libuv. */
  uid?: number;
  gid?: number;
  /** Each complete line of stdout and stderr, as it arrives. */
  onLine?: (line: string) => void;
}

export interface RunResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process group was killed: `timed out after 30s`, `cancelled`. */
  killed?: string;
  /** The process could not start (ENOENT, EACCES, a missing cwd). */
  spawnError?: string;
  /** The last TAIL_LINES lines of stdout and stderr, interleaved as they arrived. */
  tail: string[];
}

/**
 * Run argv directly (no shell) in its own process group, so a timeout or an abort kills the
 * command with every child it started. Never rejects: what happened is in the result.
 */
export function runProcess(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const tail: string[] = [];
    const push = (line: string): void => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      opts.onLine?.(line);
    };
    let settled = false;
    let killed: string | undefined;
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: opts.env ?? process.env,
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      ...(opts.uid === undefined ? {} : { uid: opts.uid }),
      ...(opts.gid === undefined ? {} : { gid: opts.gid }),
    });
    const splitter = (): ((d: Buffer | null) => void) => {
      let partial = "";
      return (d) => {
        if (d === null) {
          if (partial !== "") push(partial);
          partial = "";
          return;
        }
        const lines = (partial + d.toString("utf8")).split("\n");
        partial = lines.pop() ?? "";
        for (const l of lines) push(l.endsWith("\r") ? l.slice(0, -1) : l);
      };
    };
    const out = splitter();
    const err = splitter();
    child.stdout.on("data", out);
    child.stderr.on("data", err);
    const killGroup = (why: string): void => {
      if (killed !== undefined) return;
      killed = why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(
      () => killGroup(`timed out after ${formatMs(opts.timeoutMs)}`),
      opts.timeoutMs,
    );
    const onAbort = (): void => killGroup("cancelled");
    opts.signal.addEventListener("abort", onAbort);
    if (opts.signal.aborted) onAbort();
    const finish = (r: Omit<RunResult, "tail">): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener("abort", onAbort);
      out(null);
      err(null);
      resolve({ ...r, ...(killed === undefined ? {} : { killed }), tail });
    };
    child.once("error", (e: NodeJS.ErrnoException) =>
      finish({ code: null, signal: null, spawnError: spawnMessage(e, opts.cwd) }),
    );
    child.once("close", (code, sig) => finish({ code, signal: sig }));
    // A daemon the command started may hold the pipes open for ever: once the command itself
    // has exited, give its output a moment to drain, then stop reading (the daemon lives on).
    child.once("exit", (code, sig) => {
      clearTimeout(timer);
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ code, signal: sig });
      }, PIPE_GRACE_MS).unref();
    });
  });
}

function spawnMessage(e: NodeJS.ErrnoException, cwd: string | undefined): string {
  // Node reports a missing cwd as ENOENT of the command itself: say which one it was.
  if (e.code === "ENOENT" && cwd !== undefined) return `${e.message} (or cwd ${cwd} is missing)`;
  return e.message;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** One line of what ran, for change lines and messages: args quoted only when they need it. */
export function formatArgv(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

/** How a finished process failed, or undefined when it exited 0. */
export function failure(r: RunResult): string | undefined {
  if (r.spawnError !== undefined) return `could not start: ${r.spawnError}`;
  if (r.killed !== undefined) return `${r.killed} (process group killed)`;
  if (r.code === 0) return undefined;
  return r.code === null ? `killed by ${r.signal ?? "a signal"}` : `exit code ${r.code}`;
}
