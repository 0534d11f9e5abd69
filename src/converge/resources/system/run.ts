import { spawn } from "node:child_process";
import { ResourceFailed } from "../../errors.js";

/** How many trailing stderr lines a failure message keeps. */
const TAIL_LINES = 8;
/** Output kept per stream: enough for dpkg-query over thousands of packages. */
const OUTPUT_LIMIT = 8 * 1024 * 1024;
/** After the command exits, how long its pipes may stay open (a daemon it started holds them). */
const PIPE_GRACE_MS = 200;
const SBIN = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

export interface RunOptions {
  signal?: AbortSignal;
  /** Default 5 minutes. */
  timeoutMs?: number;
  /** Added to the environment (which always has a PATH with the sbin directories). */
  env?: Record<string, string>;
  /** Each complete output line (stdout and stderr) as it arrives: progress for ctx.log. */
  onLine?: (line: string) => void;
  /** Applied to failure messages (ctx.redact). */
  redact?: (s: string) => string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command: argv directly, never through a shell. The system resource types take a Runner
 * so tests can count or observe the commands a resource runs.
 */
export type Runner = (argv: readonly string[], opts?: RunOptions) => Promise<RunResult>;

/**
 * Run argv in its own process group and resolve with its exit code and output, whatever the
 * code. Rejects with a ResourceFailed naming the command when it cannot start, is killed (a
 * timeout, the abort signal, a signal from elsewhere).
 */
export const run: Runner = (argv, opts = {}) =>
  new Promise((resolve, reject) => {
    const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
    const redact = opts.redact ?? ((s: string) => s);
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: withSbinPath({ ...process.env, ...opts.env }),
    });
    let stdout = "";
    let stderr = "";
    const lines = lineSplitter((l) => opts.onLine?.(l));
    const errLines = lineSplitter((l) => opts.onLine?.(l));
    child.stdout.on("data", (d: Buffer) => {
      if (stdout.length < OUTPUT_LIMIT) stdout += d.toString("utf8");
      lines.push(d);
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < OUTPUT_LIMIT) stderr += d.toString("utf8");
      errLines.push(d);
    });
    let killedFor: string | undefined;
    const killGroup = (why: string): void => {
      killedFor ??= why;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => killGroup(`timed out after ${timeoutMs / 1000}s`), timeoutMs);
    const onAbort = (): void => killGroup("cancelled");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted === true) onAbort();
    let settled = false;
    const cleanup = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      return true;
    };
    child.once("error", (err: NodeJS.ErrnoException) => {
      if (!cleanup()) return;
      const why = err.code === "ENOENT" ? "command not found" : err.message;
      reject(new ResourceFailed(redact(`${formatArgv(argv)}: ${why}`)));
    });
    child.once("exit", (code, sig) => {
      // An init script that starts a daemon may leave it holding our pipes: do not wait for it.
      const grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, PIPE_GRACE_MS);
      child.once("close", () => {
        clearTimeout(grace);
        if (!cleanup()) return;
        lines.end();
        errLines.end();
        if (killedFor !== undefined || code === null) {
          const why = killedFor ?? `killed by ${sig ?? "a signal"}`;
          reject(new ResourceFailed(redact(`${formatArgv(argv)}: ${why}${tailOf(stderr)}`)));
          return;
        }
        resolve({ code, stdout, stderr });
      });
    });
  });

/**
 * Run argv and resolve with its stdout when it exits 0; otherwise reject with a ResourceFailed
 * holding the command, its exit code and the last lines of its stderr (or stdout).
 */
export async function runOk(
  runner: Runner,
  argv: readonly string[],
  opts: RunOptions = {},
): Promise<string> {
  const r = await runner(argv, opts);
  if (r.code === 0) return r.stdout;
  throw commandFailed(argv, r, opts.redact);
}

/** The ResourceFailed for a command that exited non-zero. */
export function commandFailed(
  argv: readonly string[],
  r: RunResult,
  redact: (s: string) => string = (s) => s,
): ResourceFailed {
  const output = r.stderr.trim() !== "" ? r.stderr : r.stdout;
  return new ResourceFailed(redact(`${formatArgv(argv)} failed (exit ${r.code})${tailOf(output)}`));
}

function tailOf(output: string): string {
  const lines = output
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l !== "");
  return lines.length === 0 ? "" : `: ${lines.slice(-TAIL_LINES).join("\n")}`;
}

/** One line of what ran, for messages: arguments quoted only where they need it. */
export function formatArgv(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

/** Agents and SSH sessions often lack the sbin directories that useradd and friends live in. */
function withSbinPath(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const path = (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":");
  for (const dir of SBIN) if (!path.includes(dir)) path.push(dir);
  return { ...env, PATH: path.join(":") };
}

function lineSplitter(onLine: (line: string) => void): { push(d: Buffer): void; end(): void } {
  let partial = "";
  return {
    push(d) {
      const parts = (partial + d.toString("utf8")).split("\n");
      partial = parts.pop() ?? "";
      for (const p of parts) onLine(p.replace(/\r$/, ""));
    },
    end() {
      if (partial !== "") onLine(partial);
      partial = "";
    },
  };
}
