import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NodeNameSchema } from "../../model/node.js";
import { setTimeout as sleep } from "node:timers/promises";
import { parseWith } from "../../validate.js";
import { loopbackTwin } from "../address-plan.js";
import { agentArgs, specCredential } from "../agent-args.js";
import { claimNodeDir } from "../node-dir.js";
import { agentLog, logFailure, spawnDetached, untilAgentStarted } from "../agent-start.js";
import type { NodeProvider, NodeSpec, PoolNode } from "../provider.js";
import { stopLeftInstances } from "./leftovers.js";
import { readPidFile, runs, writePidFile, type ProcessMark } from "./pidfile.js";

export interface LocalProviderOptions {
  /** One directory per node under it: `ROOT/NAME/` (node.json, agent.pid, agent.log, agent/). */
  root: string;
  /** How to run gantry (default: this process's own node and entry script). */
  gantry?: string[];
  /** How long an agent may take to start (default 30 s). */
  startTimeoutMs?: number;
  /** How long `destroy` waits after SIGTERM before SIGKILL (default 10 s). */
  stopGraceMs?: number;
  /** Where to say what `destroy` found (an unreadable agent state). */
  log?: (line: string) => void;
}

/** What node.json holds: the node as created (state and providerId come from agent.pid). */
type NodeFile = Omit<PoolNode, "state" | "providerId">;

/**
 * The `local` provider: each node is a real `gantry agent` process on this machine, started
 * detached in its own process group with its own data dir, binding its address's loopback twin.
 * It is found again (also by a later Gantry process) from the pid file in its directory — pid
 * and start time, so a reused pid is never taken for it — never by a process name.
 */
export class LocalProvider implements NodeProvider {
  readonly name = "local";
  private readonly gantry: string[];

  constructor(private readonly opts: LocalProviderOptions) {
    this.gantry = opts.gantry ?? [process.execPath, process.argv[1] ?? "gantry"];
  }

  async create(spec: NodeSpec): Promise<PoolNode> {
    parseWith(NodeNameSchema, spec.name, "name");
    parseWith(NodeNameSchema, spec.pool, "pool");
    const bind = loopbackTwin(spec.address);
    const dir = this.claim(spec);
    try {
      const mark = await this.start(spec, dir, bind);
      return this.node(dir, mark);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async destroy(name: string): Promise<void> {
    const dir = this.dir(name);
    if (dir === undefined || !existsSync(dir)) return;
    const mark = readPidFile(join(dir, "agent.pid"));
    if (mark !== undefined && runs(mark)) {
      // The agent runs with --stop-instances: SIGTERM stops its instances too. A frozen agent
      // (stopped: the reason it is being replaced) gets SIGCONT to act on it, rather than
      // holding the repair for the whole grace (measured: 8 s of a 21 s repair).
      signal(mark.pid, "SIGTERM");
      signal(mark.pid, "SIGCONT");
      const deadline = Date.now() + (this.opts.stopGraceMs ?? 10_000);
      while (runs(mark) && Date.now() < deadline) await sleep(25);
      if (runs(mark)) signal(-mark.pid, "SIGKILL");
      while (runs(mark)) await sleep(10);
    }
    // An agent that was killed could not stop its instances; those it named are stopped here.
    await stopLeftInstances(
      join(dir, "agent"),
      name,
      this.opts.stopGraceMs ?? 10_000,
      this.opts.log ?? (() => undefined),
    );
    rmSync(dir, { recursive: true, force: true });
  }

  list(pool: string): Promise<PoolNode[]> {
    let names: string[] = [];
    try {
      names = readdirSync(this.opts.root).filter((n) => !n.startsWith("."));
    } catch {
      // No root yet: no nodes.
    }
    const nodes = names
      .map((n) => this.read(join(this.opts.root, n)))
      .filter((n): n is PoolNode => n !== undefined && n.pool === pool);
    return Promise.resolve(nodes.sort((a, b) => a.instance - b.instance));
  }

  describe(name: string): Promise<PoolNode | undefined> {
    const dir = this.dir(name);
    return Promise.resolve(dir === undefined ? undefined : this.read(dir));
  }

  /** The node's directory, or undefined for a name that could not be one. */
  private dir(name: string): string | undefined {
    return NodeNameSchema.safeParse(name).success ? join(this.opts.root, name) : undefined;
  }

  /**
   * Make the node's directory, complete with node.json, in one rename: a name is taken or not,
   * and a directory without node.json never blocks a name.
   */
  private claim(spec: NodeSpec): string {
    const file: NodeFile = {
      name: spec.name,
      pool: spec.pool,
      instance: spec.instance,
      address: spec.address,
      createdAt: new Date().toISOString(),
    };
    return claimNodeDir(this.opts.root, spec.name, 0o700, {
      "node.json": JSON.stringify(file, null, 2) + "\n",
      ...("nodeToken" in spec.credentials
        ? { "agent.token": spec.credentials.nodeToken + "\n" }
        : {}),
    });
  }

  /** Start the agent detached; resolves once it says it runs, rejects with its output if it ends. */
  private async start(spec: NodeSpec, dir: string, bind: string): Promise<ProcessMark> {
    const args = agentArgs({
      server: spec.credentials.server,
      name: spec.name,
      dataDir: join(dir, "agent"),
      address: bind,
      credential: specCredential(spec, join(dir, "agent.token")),
    });
    const spawned = await spawnDetached(dir, [this.gantry[0]!, ...this.gantry.slice(1), ...args]);
    const mark = writePidFile(join(dir, "agent.pid"), spawned);
    if (mark === undefined) throw logFailure(dir, spec.name, "ended");
    await untilAgentStarted({
      timeoutMs: this.opts.startTimeoutMs ?? 30_000,
      alive: () => runs(mark),
      output: () => agentLog(dir),
      failed: (why) => logFailure(dir, spec.name, why),
      onTimeout: () => signal(-spawned, "SIGKILL"),
    });
    return mark;
  }

  /** The node in `dir` as it is now, or undefined when `dir` holds none. */
  private read(dir: string): PoolNode | undefined {
    let file: NodeFile;
    try {
      file = JSON.parse(readFileSync(join(dir, "node.json"), "utf8")) as NodeFile;
    } catch {
      return undefined;
    }
    return this.node(dir, readPidFile(join(dir, "agent.pid")), file);
  }

  private node(dir: string, mark: ProcessMark | undefined, file?: NodeFile): PoolNode {
    const f = file ?? (JSON.parse(readFileSync(join(dir, "node.json"), "utf8")) as NodeFile);
    return {
      name: f.name,
      pool: f.pool,
      instance: f.instance,
      address: f.address,
      state: mark !== undefined && runs(mark) ? "running" : "stopped",
      providerId: mark === undefined ? "" : String(mark.pid),
      createdAt: f.createdAt,
    };
  }
}

/** Send a signal to a process (or, negative, a process group) that may have ended already. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already.
  }
}
