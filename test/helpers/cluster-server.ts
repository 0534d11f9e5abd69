/**
 * `gantry server` processes that run their own etcd (`--cluster-init`, `--join`, restarts), on
 * free loopback ports, for scenario tests: each serves HTTPS with its data directory's CA, so
 * the CLI gets GANTRY_CA with the address and token.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GANTRY_BIN, runCli, type CliResult } from "./gantry.js";
import { killOnExit } from "./children.js";
import { freePort } from "./ports.js";

export interface ClusterServerPorts {
  api: number;
  peer: number;
  client: number;
}

export interface ClusterServer {
  readonly dataDir: string;
  readonly url: string;
  readonly ports: ClusterServerPorts;
  /** Everything the process printed so far. */
  output(): string;
  /** The exit of the process (code, or 128 + signal). */
  readonly exited: Promise<number>;
  env(): NodeJS.ProcessEnv;
  cli(args: string[]): Promise<CliResult>;
  stop(): Promise<number>;
  kill(): Promise<number>;
}

export async function clusterPorts(): Promise<ClusterServerPorts> {
  const set = new Set<number>();
  while (set.size < 3) set.add(await freePort());
  const [api, peer, client] = [...set] as [number, number, number];
  return { api, peer, client };
}

/** The flags that put a server's API and etcd on `ports`. */
export const portFlags = (p: ClusterServerPorts): string[] => [
  "--api-addr",
  `127.0.0.1:${p.api}`,
  "--etcd-peer-addr",
  `127.0.0.1:${p.peer}`,
  "--etcd-client-addr",
  `127.0.0.1:${p.client}`,
];

/**
 * Run `gantry server --data-dir DIR ARGS… --no-registry` and wait until it says it is up; rejects
 * with its output when it exits first (see `runServerToExit` for refusals).
 */
export async function startClusterServer(
  dataDir: string,
  args: string[],
  ports: ClusterServerPorts,
  timeoutMs = 30_000,
): Promise<ClusterServer> {
  const child = spawnServer(dataDir, args);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((r) =>
    child.once("exit", (code, sig) => r(code ?? (sig === null ? 1 : 128))),
  );
  const deadline = Date.now() + timeoutMs;
  let done = false;
  void exited.then(() => (done = true));
  while (!/is up/.test(out)) {
    if (done) throw new Error(`gantry server exited before it was up:\n${out}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`gantry server was not up within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `https://127.0.0.1:${ports.api}`;
  const env = (): NodeJS.ProcessEnv => ({
    GANTRY_ADDR: url,
    GANTRY_TOKEN: readFileSync(join(dataDir, "admin.token"), "utf8").trim(),
    GANTRY_CA: join(dataDir, "ca.crt"),
  });
  const signal = async (sig: NodeJS.Signals): Promise<number> => {
    if (!done) child.kill(sig);
    return exited;
  };
  return {
    dataDir,
    url,
    ports,
    output: () => out,
    exited,
    env,
    cli: (a) => runCli(a, env()),
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
  };
}

/** Run `gantry server` expecting it to stop by itself (a refusal): its exit code and output. */
export async function runServerToExit(
  dataDir: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<{ code: number; output: string }> {
  const child = spawnServer(dataDir, args);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number>((r) =>
    child.once("exit", (c, sig) => r(c ?? (sig === null ? 1 : 128))),
  );
  clearTimeout(timer);
  return { code, output: out };
}

function spawnServer(dataDir: string, args: string[]): ChildProcess {
  const child = spawn(
    process.execPath,
    [GANTRY_BIN, "server", "--data-dir", dataDir, "--no-registry", ...args],
    { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  killOnExit(child);
  return child;
}
