/**
 * A highly available control plane as a user makes one, on loopback: `gantry server
 * --cluster-init` for the first server, `gantry server --join URL --join-token T` for the others
 * (each with its own ports and data dir, each supervising its own etcd member), and the CLI
 * pointed at all of them. Servers can be killed (SIGKILL: the server and, with it, its etcd)
 * and started again on their data.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GANTRY_BIN, runCli, type CliResult } from "./gantry.js";
import { freePort } from "./ports.js";

const HOST = "127.0.0.1";
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export interface HaServer {
  readonly name: string;
  readonly dataDir: string;
  readonly url: string;
  readonly clientAddr: string;
  readonly peerAddr: string;
  running(): boolean;
  pid(): number | undefined;
  output(): string;
  /** Start (again) with these flags besides the addresses (e.g. --cluster-init, --join …). */
  start(flags?: string[]): Promise<void>;
  /** SIGKILL the server and its etcd (as a machine that dies). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface HaCluster {
  readonly servers: HaServer[];
  /** Every server's URL, spares not started yet included (what agents and routers are given). */
  urls(): string[];
  /** The first server's admin token and CA (every server shares the CA). */
  readonly token: string;
  readonly ca: string;
  /** CLI environment: GANTRY_ADDR lists the given servers (default: all running ones). */
  env(servers?: HaServer[]): NodeJS.ProcessEnv;
  cli(args: string[], servers?: HaServer[], timeoutMs?: number): Promise<CliResult>;
  /** A new server joined with a fresh server join token (made through a running server). */
  join(name: string, extra?: string[]): Promise<HaServer>;
  cleanup(): Promise<void>;
}

/** GET over HTTPS trusting `ca`; the status, or undefined when nothing answered. */
export function httpsGet(
  url: string,
  ca: string,
  headers: Record<string, string> = {},
  timeoutMs = 2_000,
): Promise<{ status: number; body: string; headers: Record<string, unknown> } | undefined> {
  return new Promise((res) => {
    const req = request(url, { ca, headers, timeout: timeoutMs }, (r) => {
      let body = "";
      r.setEncoding("utf8");
      r.on("data", (c: string) => (body += c));
      r.on("end", () => res({ status: r.statusCode ?? 0, body, headers: r.headers }));
      r.on("error", () => res(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => res(undefined));
    req.end();
  });
}

async function makeServer(name: string, base: string, extra: string[]): Promise<HaServer> {
  const dataDir = mkdtempSync(join(base, `${name}-`));
  const port = await freePort(HOST);
  const clientAddr = `${HOST}:${await freePort(HOST)}`;
  const peerAddr = `${HOST}:${await freePort(HOST)}`;
  const url = `https://${HOST}:${port}`;
  let child: ChildProcess | undefined;
  let out = "";
  const running = (): boolean =>
    child !== undefined && child.exitCode === null && child.signalCode === null;
  const exit = (sig: NodeJS.Signals): Promise<void> =>
    new Promise((res) => {
      const c = child;
      if (c === undefined || !running()) return res();
      c.once("exit", () => res());
      c.kill(sig);
    });
  const server: HaServer = {
    name,
    dataDir,
    url,
    clientAddr,
    peerAddr,
    running,
    pid: () => (running() ? child!.pid : undefined),
    output: () => out,
    async start(flags = []) {
      const args = [
        "server",
        "--name",
        name,
        "--data-dir",
        dataDir,
        "--api-addr",
        `${HOST}:${port}`,
        "--etcd-client-addr",
        clientAddr,
        "--etcd-peer-addr",
        peerAddr,
        "--no-registry",
        ...extra,
        ...flags,
      ];
      const c = spawn(process.execPath, [GANTRY_BIN, ...args], {
        env: { ...process.env, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = c;
      live.add(c);
      c.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      c.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      c.on("exit", () => live.delete(c));
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (!running()) throw new Error(`server ${name} exited (${c.exitCode}):\n${out}`);
        let ca: string | undefined;
        try {
          ca = readFileSync(join(dataDir, "ca.crt"), "utf8");
        } catch {
          // not made (or not received) yet
        }
        if (ca !== undefined && (await httpsGet(`${url}/v1/health`, ca))?.status === 200) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`server ${name} did not answer within 60 s:\n${out}`);
    },
    // A machine that dies takes its etcd with it at once; the parent-death signal would give
    // etcd a SIGTERM and a graceful stop (leadership handed over, raft still voting meanwhile),
    // which lets a write commit after the test believes quorum is gone.
    kill: async () => {
      const etcd = etcdPid(dataDir);
      await exit("SIGKILL");
      if (etcd !== undefined) await killAndWait(etcd);
    },
    stop: async () => {
      const killer = setTimeout(() => child?.kill("SIGKILL"), 15_000);
      await exit("SIGTERM");
      clearTimeout(killer);
    },
  };
  return server;
}

/** Start `size` servers: the first with --cluster-init, the others joining it one by one. */
export async function startHaCluster(
  size: number,
  /** `spares`: servers made (ports, data dir) but not started, which join() starts by name. */
  opts: { extra?: string[]; spares?: string[] } = {},
): Promise<HaCluster> {
  const base = mkdtempSync(join(tmpdir(), "gantry-ha-"));
  const extra = opts.extra ?? [];
  const spares = await Promise.all((opts.spares ?? []).map((n) => makeServer(n, base, extra)));
  const first = await makeServer("s1", base, extra);
  await first.start(["--cluster-init"]);
  const token = readFileSync(join(first.dataDir, "admin.token"), "utf8").trim();
  const ca = join(first.dataDir, "ca.crt");
  const servers: HaServer[] = [first];
  const env = (list = servers.filter((s) => s.running())): NodeJS.ProcessEnv => ({
    GANTRY_ADDR: list.map((s) => s.url).join(","),
    GANTRY_TOKEN: token,
    GANTRY_CA: ca,
    GANTRY_DATA_DIR: base,
  });
  const cli = (args: string[], list?: HaServer[], timeoutMs?: number): Promise<CliResult> =>
    runCli(args, env(list), timeoutMs === undefined ? {} : { timeoutMs });
  const cluster: HaCluster = {
    servers,
    urls: () => [...servers, ...spares].map((s) => s.url),
    token,
    ca,
    env,
    cli,
    async join(name, more = []) {
      const made = await cli(["join-tokens", "create", "--server", "--ttl", "1h", "--json"]);
      if (made.code !== 0) throw new Error(`join-tokens create --server: ${made.stderr}`);
      const joinToken = (JSON.parse(made.stdout) as { token: string }).token;
      const via = servers.find((s) => s.running())!;
      const spare = spares.findIndex((x) => x.name === name);
      const s =
        spare >= 0
          ? spares.splice(spare, 1)[0]!
          : await makeServer(name, base, [...extra, ...more]);
      await s.start(["--join", via.url, "--join-token", joinToken]);
      servers.push(s);
      return s;
    },
    async cleanup() {
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(base, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 2; i <= size; i++) await cluster.join(`s${i}`);
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
  return cluster;
}

/** A long-running CLI process (agent, router) and what it printed. */
export interface Follower {
  readonly name: string;
  readonly p: ChildProcess;
  out: string;
}

/** Agents (`--server` listing every server, joined with a join token) and a router. */
export interface Fleet {
  readonly routerPort: number;
  readonly followers: Follower[];
  agent(name: string): Follower;
  /** Every output, servers' included (for failure messages). */
  outputs(): string;
  stop(): Promise<void>;
}

async function madeJoinToken(ha: HaCluster, flags: string[]): Promise<string> {
  const made = await ha.cli(["join-tokens", "create", ...flags, "--json"]);
  if (made.code !== 0) throw new Error(`join-tokens create ${flags.join(" ")}: ${made.stderr}`);
  return (JSON.parse(made.stdout) as { token: string }).token;
}

/** Start agents named `nodes` and one router, all knowing every running server. */
export async function startFleet(ha: HaCluster, work: string, nodes: string[]): Promise<Fleet> {
  const urls = ha.urls().join(",");
  const followers: Follower[] = [];
  const follow = (name: string, args: string[]): void => {
    const p = spawn(process.execPath, [GANTRY_BIN, ...args], {
      env: { ...process.env, NO_COLOR: "1", GANTRY_TOKEN: "", GANTRY_ADDR: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    live.add(p);
    p.on("exit", () => live.delete(p));
    const f: Follower = { name, p, out: "" };
    p.stdout!.on("data", (d: Buffer) => (f.out += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (f.out += d.toString()));
    followers.push(f);
  };
  const nodeJoin = await madeJoinToken(ha, []);
  for (const n of nodes)
    follow(n, [
      "agent",
      "--server",
      urls,
      "--join",
      nodeJoin,
      "--node-name",
      n,
      "--data-dir",
      join(work, n),
      "--stop-instances",
    ]);
  const routerPort = await freePort(HOST);
  follow("router", [
    "router",
    "--server",
    urls,
    "--join",
    await madeJoinToken(ha, ["--router"]),
    "--name",
    "r1",
    "--data-dir",
    join(work, "router"),
    "--http-addr",
    `${HOST}:${routerPort}`,
  ]);
  return {
    routerPort,
    followers,
    agent: (name) => followers.find((f) => f.name === name)!,
    outputs: () =>
      [
        ...ha.servers.map((s) => `--- ${s.name}\n${s.output().slice(-3000)}`),
        ...followers.map((f) => `--- ${f.name}\n${f.out.slice(-3000)}`),
      ].join("\n"),
    async stop() {
      await Promise.all(
        followers.map(async (f) => {
          if (f.p.exitCode !== null || f.p.signalCode !== null) return;
          const exited = new Promise((r) => f.p.once("exit", r));
          f.p.kill("SIGTERM");
          await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
          if (f.p.exitCode === null) f.p.kill("SIGKILL");
        }),
      );
    },
  };
}

/** The pid of a server's etcd child (DATA_DIR/etcd.pid), if it has one. */
function etcdPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, "etcd.pid"), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGKILL a process (if it still runs) and wait until it is gone. */
async function killAndWait(pid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) process.kill(pid, "SIGKILL");
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
}
