import { isAbsolute, resolve } from "node:path";
import { conflict, isGantryError, ValidationError } from "../../errors.js";
import { sshControlDir } from "../../converge/ssh/control-dir.js";
import { NodeNameSchema } from "../../model/node.js";
import { SshPoolSchema, type SshPoolSettings } from "../../model/pool.js";
import { parseWith } from "../../validate.js";
import type { NodeProvider, NodeSpec, PoolNode } from "../provider.js";
import { loadAgentBundle, type AgentBundle } from "./bundle.js";
import type { HostNode, HostRequest } from "./protocol.js";
import { HostUnreachableError, hostRequest, type HostLink } from "./transport.js";
import { perName } from "../one-at-a-time.js";

export interface SshProviderOptions {
  /**
   * Where nodes live on a host: ROOT/NAME/ (default /opt/gantry). A relative root is under the
   * ssh user's $HOME. Letters, digits and `_ . / -` only.
   */
  root?: string;
  /** The one-file agent to install (default dist/gantry-agent.mjs). */
  bundle?: string;
  /** What a relative `identityFile` is relative to (the server's data dir; default: cwd). */
  baseDir?: string;
  /** How long an agent may take to start (default 30 s). */
  startTimeoutMs?: number;
  /** How long `destroy` waits after SIGTERM before SIGKILL (default 10 s). */
  stopGraceMs?: number;
  /** Run agents as systemd units on hosts that run systemd (default true). */
  systemd?: boolean;
  /** The ssh binary (default `ssh` on PATH). */
  sshBin?: string;
  /** Where ssh's control sockets go (default: the user's, as for converge). */
  controlDir?: string;
  /** Where to say that a host could not be reached. */
  log?: (line: string) => void;
}

const ROOT = /^[A-Za-z0-9._/-]{1,200}$/;
/** How many hosts are asked at once (each one ssh process). */
const HOSTS_AT_ONCE = 16;

/**
 * The `ssh` provider: the pool's hosts exist already (`ssh.hosts`, instance n on the n-th host).
 * `create` installs the one-file agent there over ssh and starts it (a systemd unit, or detached
 * with a pid file where systemd does not run); the node's directory ROOT/NAME/ with its node.json
 * is the durable mark a later provider finds it by. All host-side work is done by the agent
 * bundle itself (`pool-host`, src/pools/ssh/host-main.ts), the request and any token on stdin.
 */
export class SshProvider implements NodeProvider {
  readonly name = "ssh";
  private readonly settings: SshPoolSettings;
  private readonly root: string;
  private bundle: Promise<AgentBundle> | undefined;
  private controlDir: Promise<string> | undefined;
  /** The nodes last seen on each host: shown `stopped` while their host cannot be reached. */
  private readonly seen = new Map<string, Map<string, PoolNode>>();

  constructor(
    settings: SshPoolSettings,
    private readonly opts: SshProviderOptions = {},
  ) {
    this.settings = parseWith(SshPoolSchema, settings, "ssh");
    this.root = opts.root ?? "/opt/gantry";
    if (!ROOT.test(this.root) || this.root.split("/").includes(".."))
      throw new ValidationError(
        `root: letters, digits and _ . / - only (no ..), got "${this.root}"`,
        "root",
      );
  }

  async create(spec: NodeSpec): Promise<PoolNode> {
    parseWith(NodeNameSchema, spec.name, "name");
    parseWith(NodeNameSchema, spec.pool, "pool");
    return oneAtATime(spec.name, async () => {
      if ((await this.describe(spec.name)) !== undefined)
        throw conflict(`node ${spec.name} already exists`);
      const host = this.settings.hosts[spec.instance - 1];
      if (host === undefined)
        throw new ValidationError(
          `instance: ${spec.instance} has no host (the pool lists ${this.settings.hosts.length})`,
          "instance",
        );
      const c = spec.credentials;
      const req: HostRequest = {
        op: "create",
        name: spec.name,
        pool: spec.pool,
        instance: spec.instance,
        address: spec.address,
        createdAt: new Date().toISOString(),
        server: c.server,
        ...("joinToken" in c ? { joinToken: c.joinToken } : { nodeToken: c.nodeToken }),
        startTimeoutMs: this.opts.startTimeoutMs ?? 30_000,
        ...(this.opts.systemd === false ? { systemd: false } : {}),
      };
      try {
        const [made] = await hostRequest(await this.link(), host, req);
        const node = this.node(host, made!);
        this.seenOn(host).set(node.name, node);
        return node;
      } catch (err) {
        // The host removes a node it failed to start; a connection lost midway may leave one.
        if (!(isGantryError(err) && err.code === "conflict"))
          await this.request(host, this.destroyRequest(spec.name)).catch(() => undefined);
        throw err;
      }
    });
  }

  async destroy(name: string): Promise<void> {
    if (!NodeNameSchema.safeParse(name).success) return;
    await oneAtATime(name, async () => {
      for (const host of this.hosts()) {
        const seen = this.seen.get(host);
        let found: HostNode[];
        try {
          found = await this.request(host, { op: "list", name });
        } catch (err) {
          // A host that cannot be reached and never showed the node does not have it, as far as
          // anyone can tell; one that did must be reached to destroy it.
          if (err instanceof HostUnreachableError && seen?.has(name) !== true) continue;
          throw err;
        }
        if (found.length > 0) await this.request(host, this.destroyRequest(name));
        seen?.delete(name);
      }
    });
  }

  async list(pool: string): Promise<PoolNode[]> {
    const nodes = (await this.everyHost({ op: "list", pool })).filter((n) => n.pool === pool);
    return nodes.sort((a, b) => a.instance - b.instance || a.name.localeCompare(b.name));
  }

  async describe(name: string): Promise<PoolNode | undefined> {
    if (!NodeNameSchema.safeParse(name).success) return undefined;
    return (await this.everyHost({ op: "list", name })).find((n) => n.name === name);
  }

  /** Ask every host (each once); a host that cannot be reached shows its last-seen nodes stopped. */
  private async everyHost(req: Extract<HostRequest, { op: "list" }>): Promise<PoolNode[]> {
    const answers = await mapLimit(this.hosts(), HOSTS_AT_ONCE, async (host) => {
      const seen = this.seenOn(host);
      try {
        const nodes = (await this.request(host, req)).map((n) => this.node(host, n));
        for (const n of seen.values()) if (matches(n, req)) seen.delete(n.name);
        for (const n of nodes) seen.set(n.name, n);
        return nodes;
      } catch (err) {
        if (!(err instanceof HostUnreachableError)) throw err;
        this.opts.log?.(err.message);
        return [...seen.values()]
          .filter((n) => matches(n, req))
          .map((n) => ({ ...n, state: "stopped" as const }));
      }
    });
    return answers.flat();
  }

  private seenOn(host: string): Map<string, PoolNode> {
    let seen = this.seen.get(host);
    if (seen === undefined) this.seen.set(host, (seen = new Map()));
    return seen;
  }

  private destroyRequest(name: string): HostRequest {
    return { op: "destroy", name, stopGraceMs: this.opts.stopGraceMs ?? 10_000 };
  }

  private async request(host: string, req: HostRequest): Promise<HostNode[]> {
    return hostRequest(await this.link(), host, req);
  }

  private async link(): Promise<HostLink> {
    this.bundle ??= loadAgentBundle(this.opts.bundle);
    this.controlDir ??=
      this.opts.controlDir === undefined ? sshControlDir() : Promise.resolve(this.opts.controlDir);
    const bundle = this.bundle;
    const id = this.settings.identityFile;
    const startMs = this.opts.startTimeoutMs ?? 30_000;
    const stopMs = this.opts.stopGraceMs ?? 10_000;
    return {
      ssh: {
        user: this.settings.user,
        port: this.settings.port,
        options: this.settings.options,
        identityFile:
          id === undefined || isAbsolute(id) ? id : resolve(this.opts.baseDir ?? ".", id),
      },
      root: this.root,
      bundle: () => bundle,
      controlDir: await this.controlDir,
      // Room for a start or a stop on the host, and an upload of the bundle.
      timeoutMs: Math.max(startMs, stopMs * 2) + 60_000,
      ...(this.opts.sshBin === undefined ? {} : { sshBin: this.opts.sshBin }),
    };
  }

  private hosts(): string[] {
    return [...new Set(this.settings.hosts)];
  }

  private node(host: string, n: HostNode): PoolNode {
    return {
      name: n.name,
      pool: n.pool,
      instance: n.instance,
      address: n.address,
      state: n.state,
      providerId: `${host}:${n.pid ?? "?"}`,
      createdAt: n.createdAt,
    };
  }
}

const matches = (n: PoolNode, req: { pool?: string; name?: string }): boolean =>
  (req.pool === undefined || n.pool === req.pool) &&
  (req.name === undefined || n.name === req.name);

/** Creates and destroys of one node name, in this process, one after another. */
const oneAtATime = perName();

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
