import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { BuildError } from "./errors.js";
import { LineSplitter } from "./lines.js";

export interface InstallOptions {
  /** The app directory (holds package.json). */
  dir: string;
  command: "ci" | "install";
  /** npm's cache for this app: `DATA_DIR/cache/<app>/npm`. */
  cacheDir: string;
  timeoutMs: number;
  onLine: (line: string) => void;
  signal?: AbortSignal;
  /** The npm executable and leading arguments (tests may swap it). */
  npm?: string[];
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_INSTALL_TIMEOUT_MS = 10 * 60_000;

/**
 * Install production dependencies with npm in its own process group, killed as a whole when
 * the time limit passes or the build is abandoned (npm's lifecycle scripts spawn children).
 */
export async function installDependencies(opts: InstallOptions): Promise<void> {
  mkdirSync(opts.cacheDir, { recursive: true });
  const [cmd, ...pre] = opts.npm ?? ["npm"];
  const args = [...pre, opts.command, "--omit=dev", "--no-audit", "--no-fund"];
  const child = spawn(cmd!, args, {
    cwd: opts.dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...(opts.env ?? process.env),
      npm_config_cache: opts.cacheDir,
      npm_config_update_notifier: "false",
      npm_config_progress: "false",
      NODE_ENV: "production",
    },
  });
  const split = new LineSplitter((line) => opts.onLine("       " + line));
  child.stdout.on("data", (c: Buffer) => split.push(c));
  child.stderr.on("data", (c: Buffer) => split.push(c));
  let reason: string | undefined;
  const kill = (why: string): void => {
    reason ??= why;
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(
    () =>
      kill(
        `installing dependencies took longer than ${formatDuration(opts.timeoutMs)} (the limit)`,
      ),
    opts.timeoutMs,
  );
  const onAbort = (): void => kill("the build was cancelled");
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  try {
    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.once("error", (err: NodeJS.ErrnoException) =>
          reject(
            new BuildError(
              err.code === "ENOENT"
                ? `npm is not installed on the server (needed to install dependencies)`
                : `npm could not start: ${err.message}`,
            ),
          ),
        );
        child.once("close", (c, s) => resolve([c, s]));
      },
    );
    split.end();
    if (reason !== undefined) throw new BuildError(reason);
    if (code !== 0) {
      throw new BuildError(
        `npm ${opts.command} failed (${code === null ? `killed by ${sig}` : `exit code ${code}`}) — see the output above`,
      );
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s === 0 ? `${m}m` : `${m}m${s}s`;
}
