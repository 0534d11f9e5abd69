/**
 * A child process in a network namespace of its own (needs root): only `lo`, brought up, with
 * the namespace's own net.* sysctls set, so a test can load the kernel's TCP stack without
 * sending a packet anywhere but loopback, and without touching the host's settings.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";

// SIGTERM, not SIGKILL: what runs there may have instances of its own to stop.
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGTERM");
});

/** This process's network namespace, as the kernel names it ("net:[4026531840]"). */
export const netnsOf = (pid: number | "self" = "self"): string =>
  readlinkSync(`/proc/${pid}/ns/net`);

/** A net sysctl of this process's namespace, e.g. "net.ipv4.tcp_tw_reuse". */
export const netSysctl = (name: string): string =>
  readFileSync(`/proc/sys/${name.replaceAll(".", "/")}`, "utf8").trim();

/**
 * Spawn `argv` in a new network namespace with `sysctls` set there (net.* only: those are per
 * namespace). unshare and sh exec it, so the returned process is the command itself: signals and
 * the exit code are its own. stdout is piped, stderr piped or inherited. It gets SIGTERM if this
 * process exits first; the namespace goes away with its last process.
 */
export function spawnInNetns(
  argv: string[],
  opts: {
    sysctls: Record<string, string>;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    stderr?: "pipe" | "inherit";
  },
): ChildProcess {
  const sets = Object.entries(opts.sysctls).map(([k, v]) => {
    if (!/^net\.[\w.]+$/.test(k) || !/^[\w -]+$/.test(v))
      throw new Error(`not a per-namespace sysctl: ${k}=${v}`);
    return `sysctl -qw ${k}=${JSON.stringify(v)}`;
  });
  const setup = ["set -e", "ip link set lo up", ...sets, 'exec "$@"'].join("; ");
  const child = spawn("unshare", ["--net", "sh", "-c", setup, "sh", ...argv], {
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", opts.stderr ?? "inherit"],
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/**
 * Run `argv` in a new network namespace (as spawnInNetns) and collect its output; once `until`
 * matches its output it gets SIGTERM. SIGKILL after `timeoutMs`.
 */
export function runInNetns(
  argv: string[],
  opts: {
    sysctls: Record<string, string>;
    env?: NodeJS.ProcessEnv;
    until?: RegExp;
    timeoutMs: number;
  },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnInNetns(argv, { ...opts, stderr: "pipe" });
  let stdout = "";
  let stderr = "";
  let told = false;
  const seen = (): void => {
    if (told || opts.until === undefined || !opts.until.test(stdout + stderr)) return;
    told = true;
    child.kill("SIGTERM");
  };
  child.stdout!.on("data", (d: Buffer) => ((stdout += d.toString()), seen()));
  child.stderr!.on("data", (d: Buffer) => ((stderr += d.toString()), seen()));
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
