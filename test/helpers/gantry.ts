/**
 * Gantry as a user runs it: `bin/gantry up` (or `server`) as a real process in a temporary data
 * directory on free loopback ports, and the CLI as real processes against it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./ports.js";

export const GANTRY_BIN = resolve(import.meta.dirname, "../../bin/gantry");
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GantryProcess {
  dataDir: string;
  url: string;
  token: string;
  port: number;
  /** Environment for CLI processes pointed at this server. */
  env: NodeJS.ProcessEnv;
  output(): string;
  /** The server's process id while it runs. */
  pid(): number | undefined;
  /** Send a signal and wait for the exit (at once when it is not running). */
  signal(sig: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  cleanup(): Promise<void>;
  cli(
    args: string[],
    opts?: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<CliResult>;
}

export interface StartOptions {
  /** `up` (default) or `server`. */
  mode?: "up" | "server";
  /** For `server`: a store location, e.g. etcd://127.0.0.1:2379. */
  store?: string;
  dataDir?: string;
  /** Extra flags for node itself (e.g. --cpu-prof), before bin/gantry. */
  nodeArgs?: string[];
  /** Extra flags for the command (e.g. --low-latency). */
  args?: string[];
}

/** Run the CLI once and collect its output. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { input?: string; timeoutMs?: number; uid?: number } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [GANTRY_BIN, ...args], {
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["pipe", "pipe", "pipe"],
      ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Run the CLI once as another user (the tests run as root; e.g. 65534, nobody). */
export function runCliAs(uid: number, args: string[]): Promise<CliResult> {
  return runCli(args, {}, { uid });
}

/**
 * Start a long-running CLI command (`kv watch`, `lock`, …) with output piped; it is killed when
 * the test process exits, in case a test forgets it.
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [GANTRY_BIN, ...args], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  child.on("exit", () => live.delete(child));
  return child;
}

/** Start `gantry up` (or `gantry server`) and wait until its API answers. */
export async function startGantry(opts: StartOptions = {}): Promise<GantryProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "gantry-test-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let out = "";

  const start = async (): Promise<void> => {
    const args =
      opts.mode === "server" ? ["server"] : ["up", "--http-addr", `127.0.0.1:${await freePort()}`];
    args.push("--data-dir", dataDir, "--api-addr", `127.0.0.1:${port}`);
    if (opts.store !== undefined) args.push("--store", opts.store);
    args.push(...(opts.args ?? []));
    const c = spawn(process.execPath, [...(opts.nodeArgs ?? []), GANTRY_BIN, ...args], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = c;
    live.add(c);
    c.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    c.on("exit", () => live.delete(c));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (c.exitCode !== null)
        throw new Error(`gantry ${args[0]} exited with ${c.exitCode}:\n${out}`);
      try {
        const res = await fetch(`${url}/v1/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`gantry ${args[0]} did not answer within 30 s:\n${out}`);
  };

  const signal = (
    sig: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> =>
    new Promise((res) => {
      const c = child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null)
        return res({ code: c?.exitCode ?? null, signal: c?.signalCode ?? null });
      c.once("exit", (code, sg) => res({ code, signal: sg }));
      c.kill(sig);
    });
  const waitExit = async (sig: NodeJS.Signals): Promise<void> => {
    await signal(sig);
  };

  await start();
  const token = readFileSync(join(dataDir, "admin.token"), "utf8").trim();
  const env = { GANTRY_ADDR: url, GANTRY_TOKEN: token, GANTRY_DATA_DIR: dataDir };
  return {
    dataDir,
    url,
    token,
    port,
    env,
    output: () => out,
    pid: () => (child?.exitCode === null && child.signalCode === null ? child.pid : undefined),
    signal,
    start,
    stop: () => waitExit("SIGTERM"),
    kill: () => waitExit("SIGKILL"),
    cleanup: async () => {
      // SIGTERM first: `gantry up` then stops its apps' instances (their own process groups,
      // which a SIGKILL of the platform would leave running); SIGKILL if it does not exit.
      const killer = setTimeout(() => child?.kill("SIGKILL"), 15_000);
      await waitExit("SIGTERM");
      clearTimeout(killer);
      if (opts.dataDir === undefined && existsSync(dataDir))
        rmSync(dataDir, { recursive: true, force: true });
    },
    cli: (args, o = {}) => runCli(args, { ...env, ...(o.env ?? {}) }, o),
  };
}
