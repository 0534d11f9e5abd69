/**
 * Real etcd servers for tests: one member (`startEtcd`) or a three-member cluster
 * (`startEtcdCluster`) on loopback ports, each with its data in a fresh temporary directory.
 * Members can be stopped (SIGTERM), killed (SIGKILL) and started again on the same data.
 *
 * Elections are tuned short (heartbeat 50 ms, election timeout 500 ms) so a cluster loses and
 * regains its leader within about a second; etcd's minimum lease TTL follows from these
 * (1.5 election timeouts, rounded up: 1 s). etcd's output goes to `etcd.log` in the member's
 * directory; its tail is part of every start-up error.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, closeSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killOnExit } from "./children.js";
import { freePort } from "./ports.js";

export const ETCD_BIN = "/usr/bin/etcd";
const HOST = "127.0.0.1";

export interface EtcdOptions {
  /** Milliseconds between leader heartbeats (default 50). */
  heartbeatMs?: number;
  /** Milliseconds without a leader before an election (default 500). */
  electionMs?: number;
  /** Where the temporary directory goes (default: the OS temp dir). */
  baseDir?: string;
  /** How long to wait for a member to answer (default 20 s). */
  startTimeoutMs?: number;
  /** More command-line flags for every member. */
  extraArgs?: string[];
}

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly running: boolean;
  readonly pid: number | undefined;
  /** Start the member again on its data (no-op when it runs). */
  start(): Promise<void>;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** True when the member's /health answers "true" (it has a leader). */
  healthy(): Promise<boolean>;
  /** The last lines etcd wrote. */
  logTail(lines?: number): string;
}

export interface EtcdServer {
  readonly endpoints: string[];
  readonly member: EtcdMember;
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** Stop the process and delete its data. */
  cleanup(): Promise<void>;
}

export interface EtcdCluster {
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  /** Wait until every running member reports a leader. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** The member that is leader now, according to the running members. */
  leader(): Promise<EtcdMember | undefined>;
  /** Hand leadership to `to` (etcd's MoveLeader); resolves when `to` leads. */
  moveLeader(to: EtcdMember): Promise<void>;
  /** Stop every member and delete all data. */
  cleanup(): Promise<void>;
}

function checkBinary(): void {
  if (!existsSync(ETCD_BIN)) {
    throw new Error(
      `${ETCD_BIN} is missing: the etcd tests need Debian's etcd-server; run scripts/install-test-deps.sh (as root)`,
    );
  }
}

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort(HOST));
  return [...ports];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function httpHealthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return body.health === "true";
  } catch {
    return false;
  }
}

/** A member's id and the id of the leader it follows ("0": none), from its status endpoint. */
async function memberStatus(m: EtcdMember): Promise<{ id: string; leader: string } | undefined> {
  try {
    const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, {
      method: "POST",
      body: "{}",
      signal: AbortSignal.timeout(1000),
    });
    const st = (await res.json()) as { header?: { member_id?: string }; leader?: string };
    const id = st.header?.member_id;
    return id === undefined ? undefined : { id, leader: st.leader ?? "0" };
  } catch {
    return undefined;
  }
}

interface MemberSpec {
  name: string;
  dir: string;
  clientPort: number;
  peerPort: number;
  initialCluster: string;
  token: string;
  opts: EtcdOptions;
}

class Member implements EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly args: string[];

  constructor(spec: MemberSpec) {
    this.name = spec.name;
    this.clientUrl = `http://${HOST}:${spec.clientPort}`;
    this.peerUrl = `http://${HOST}:${spec.peerPort}`;
    this.dataDir = join(spec.dir, `${spec.name}.etcd`);
    this.logFile = join(spec.dir, `${spec.name}.log`);
    const o = spec.opts;
    this.args = [
      `--name=${spec.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.clientUrl}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${spec.initialCluster}`,
      `--initial-cluster-token=${spec.token}`,
      "--initial-cluster-state=new",
      `--heartbeat-interval=${o.heartbeatMs ?? 50}`,
      `--election-timeout=${o.electionMs ?? 500}`,
      "--logger=zap",
      "--log-outputs=stderr",
      ...(o.extraArgs ?? []),
    ];
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawn etcd (without waiting for it). */
  spawn(): void {
    if (this.child !== undefined) return;
    const fd = openSync(this.logFile, "a");
    try {
      const child = spawn(ETCD_BIN, this.args, { stdio: ["ignore", fd, fd] });
      killOnExit(child);
      this.child = child;
      this.exited = new Promise((resolve) =>
        child.once("exit", () => {
          if (this.child === child) this.child = undefined;
          resolve();
        }),
      );
    } finally {
      closeSync(fd);
    }
  }

  /** Wait until the member answers /health, or fail with the log tail. */
  async waitUp(timeoutMs: number, needLeader = true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child === undefined) {
        throw new Error(`etcd ${this.name} exited during start-up; log tail:\n${this.logTail()}`);
      }
      if (needLeader ? await httpHealthy(this.clientUrl) : await this.answers()) return;
      await sleep(50);
    }
    throw new Error(
      `etcd ${this.name} did not become healthy within ${timeoutMs} ms; log tail:\n${this.logTail()}`,
    );
  }

  private async answers(): Promise<boolean> {
    try {
      await fetch(`${this.clientUrl}/version`, { signal: AbortSignal.timeout(1000) });
      return true;
    } catch {
      return false;
    }
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    this.spawn();
    // A restarted member of a cluster without quorum answers but has no leader: only wait for it
    // to listen; callers that need a leader use waitHealthy().
    await this.waitUp(20_000, false);
  }

  async stop(): Promise<void> {
    await this.signal("SIGTERM", 10_000);
  }

  async kill(): Promise<void> {
    await this.signal("SIGKILL", 10_000);
  }

  private async signal(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill(sig);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  healthy(): Promise<boolean> {
    return this.child === undefined ? Promise.resolve(false) : httpHealthy(this.clientUrl);
  }

  logTail(lines = 30): string {
    return tail(this.logFile, lines);
  }
}

function isPortConflict(members: Member[]): boolean {
  return members.some((m) => /address already in use/i.test(m.logTail(50)));
}

/** Start members on fresh ports, retrying with new ports when one was taken meanwhile. */
async function startMembers(
  n: number,
  opts: EtcdOptions,
): Promise<{ dir: string; members: Member[] }> {
  checkBinary();
  const dir = await mkdtemp(join(opts.baseDir ?? tmpdir(), "gantry-etcd-"));
  const timeout = opts.startTimeoutMs ?? 20_000;
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(2 * n);
    const names = Array.from({ length: n }, (_, i) => `m${attempt}-${i}`);
    const initialCluster = names
      .map((name, i) => `${name}=http://${HOST}:${ports[2 * i + 1]}`)
      .join(",");
    const token = `gantry-test-${process.pid}-${Date.now()}-${attempt}`;
    const members = names.map(
      (name, i) =>
        new Member({
          name,
          dir,
          clientPort: ports[2 * i]!,
          peerPort: ports[2 * i + 1]!,
          initialCluster,
          token,
          opts,
        }),
    );
    try {
      for (const m of members) m.spawn();
      await Promise.all(members.map((m) => m.waitUp(timeout)));
      return { dir, members };
    } catch (err) {
      await Promise.all(members.map((m) => m.kill()));
      if (attempt < 5 && isPortConflict(members)) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

/** One etcd member on free loopback ports with its data in a fresh temporary directory. */
export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdServer> {
  const { dir, members } = await startMembers(1, opts);
  const member = members[0]!;
  return {
    endpoints: [member.clientUrl],
    member,
    start: async () => {
      await member.start();
      await member.waitUp(opts.startTimeoutMs ?? 20_000);
    },
    stop: () => member.stop(),
    kill: () => member.kill(),
    cleanup: async () => {
      await member.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A cluster of `size` members (static initial cluster on loopback), all healthy on return. */
export async function startEtcdCluster(size = 3, opts: EtcdOptions = {}): Promise<EtcdCluster> {
  const { dir, members } = await startMembers(size, opts);
  const cluster: EtcdCluster = {
    endpoints: members.map((m) => m.clientUrl),
    members,
    async waitHealthy(timeoutMs = 20_000) {
      const running = members.filter((m) => m.running);
      await Promise.all(running.map((m) => m.waitUp(timeoutMs)));
    },
    async leader() {
      for (const m of members) {
        const st = m.running ? await memberStatus(m) : undefined;
        if (st === undefined || st.leader === "0") continue;
        for (const other of members) {
          if (other.running && (await memberStatus(other))?.id === st.leader) return other;
        }
      }
      return undefined;
    },
    async moveLeader(to) {
      const target = await memberStatus(to);
      if (target === undefined) throw new Error(`etcd ${to.name} does not answer`);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const current = await cluster.leader();
        if (current === to) return;
        if (current !== undefined) {
          await fetch(`${current.clientUrl}/v3/maintenance/transfer-leadership`, {
            method: "POST",
            body: JSON.stringify({ targetID: target.id }),
            signal: AbortSignal.timeout(5000),
          }).catch(() => undefined);
        }
        await sleep(100);
      }
      throw new Error(`leadership did not move to etcd ${to.name} within 10 s`);
    },
    async cleanup() {
      await Promise.all(members.map((m) => m.kill()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}
