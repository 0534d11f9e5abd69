import { GantryError, conflict, isGantryError, ValidationError } from "../../errors.js";
import { parseDuration } from "../../model/duration.js";
import { NodeNameSchema } from "../../model/node.js";
import { ExecPoolSchema, PoolNameSchema, type ExecPoolSettings } from "../../model/pool.js";
import { parseWith } from "../../validate.js";
import type { NodeProvider, NodeSpec, PoolNode } from "../provider.js";
import { CreateOutputSchema, ListOutputSchema, parseOutput } from "./output.js";
import { runExecCommand } from "./run.js";
import { perName } from "../one-at-a-time.js";

export interface ExecProviderOptions {
  /** Where the commands run (relative command paths resolve from it; default: this process's). */
  cwd?: string;
  /** How long a command has after SIGTERM at its timeout before SIGKILL (default 5 s). */
  killGraceMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/**
 * The `exec` provider: bring your own cloud. The pool's `create`, `destroy` and `list` commands
 * (argv arrays, no shell) get a JSON request on stdin — the node's token too, never in argv or
 * the environment — and print JSON (docs/pools.md, "The exec provider"). The commands keep the
 * machines (tags, labels, files); Gantry keeps nothing, so a restarted server finds them through
 * `list`. A node's pool is the name up to its last `-NUMBER` (the pool controller names nodes
 * `POOL-INSTANCE`), which is how `describe` and `destroy` know which pool to ask about.
 */
export class ExecProvider implements NodeProvider {
  readonly name = "exec";
  private readonly settings: ExecPoolSettings;
  private readonly timeoutMs: number;

  constructor(
    settings: ExecPoolSettings,
    private readonly opts: ExecProviderOptions = {},
  ) {
    this.settings = parseWith(ExecPoolSchema, settings, "exec");
    this.timeoutMs =
      this.settings.timeout === undefined
        ? DEFAULT_TIMEOUT_MS
        : parseDuration(this.settings.timeout)!;
  }

  async create(spec: NodeSpec): Promise<PoolNode> {
    parseWith(NodeNameSchema, spec.name, "name");
    parseWith(PoolNameSchema, spec.pool, "pool");
    if (poolOf(spec.name) !== spec.pool)
      throw new ValidationError(
        `name: must be the pool's name, "-" and a number (${spec.pool}-${spec.instance}), got "${spec.name}"`,
        "name",
      );
    return oneAtATime(spec.name, async () => {
      if ((await this.describe(spec.name)) !== undefined)
        throw conflict(`node ${spec.name} already exists`);
      return this.make(spec);
    });
  }

  async destroy(name: string): Promise<void> {
    const pool = poolOf(name);
    if (pool === undefined) return;
    await oneAtATime(name, async () => {
      const node = await this.describe(name);
      await this.run("destroy", this.settings.destroy, {
        name,
        pool,
        ...(node === undefined ? {} : { providerId: node.providerId }),
      });
      if ((await this.describe(name)) !== undefined)
        throw new GantryError(
          "exec_failed",
          `the exec destroy command (${this.settings.destroy[0]}) exited 0, but list still shows ${name}`,
        );
    });
  }

  async list(pool: string): Promise<PoolNode[]> {
    parseWith(PoolNameSchema, pool, "pool");
    const stdout = await this.run("list", this.settings.list, { pool });
    const machines = parseOutput(ListOutputSchema, stdout, {
      what: "list",
      argv: this.settings.list,
    });
    return machines
      .map((m) => ({
        name: m.name,
        pool,
        instance: m.instance,
        address: m.address,
        state: m.state,
        providerId: m.providerId,
        createdAt: m.createdAt,
      }))
      .sort((a, b) => a.instance - b.instance || a.name.localeCompare(b.name));
  }

  async describe(name: string): Promise<PoolNode | undefined> {
    const pool = poolOf(name);
    if (pool === undefined) return undefined;
    return (await this.list(pool)).find((n) => n.name === name);
  }

  /** Run `create`, then read the machine back through `list`; on any failure, destroy it. */
  private async make(spec: NodeSpec): Promise<PoolNode> {
    const createdAt = new Date().toISOString();
    const c = spec.credentials;
    let providerId: string | undefined;
    try {
      const stdout = await this.run("create", this.settings.create, {
        name: spec.name,
        pool: spec.pool,
        instance: spec.instance,
        address: spec.address,
        createdAt,
        server: c.server,
        ...("joinToken" in c ? { joinToken: c.joinToken } : { nodeToken: c.nodeToken }),
      });
      const out = parseOutput(CreateOutputSchema, stdout, {
        what: "create",
        argv: this.settings.create,
      });
      providerId = out.providerId;
      if (out.state === "stopped")
        throw new GantryError(
          "node_start_failed",
          `the exec create command (${this.settings.create[0]}) made ${spec.name} (${out.providerId}), but it does not run`,
        );
      const listed = await this.describe(spec.name);
      return (
        listed ?? {
          name: spec.name,
          pool: spec.pool,
          instance: spec.instance,
          address: spec.address,
          state: "running",
          providerId: out.providerId,
          createdAt,
        }
      );
    } catch (err) {
      await this.cleanUp(spec, providerId, err);
      throw err;
    }
  }

  /** Best effort after a failed create: the error the caller sees is the create's. */
  private async cleanUp(
    spec: NodeSpec,
    providerId: string | undefined,
    err: unknown,
  ): Promise<void> {
    try {
      await this.run("destroy", this.settings.destroy, {
        name: spec.name,
        pool: spec.pool,
        ...(providerId === undefined ? {} : { providerId }),
      });
    } catch (cleanupErr) {
      if (isGantryError(err) && cleanupErr instanceof Error)
        err.message += ` (destroying what it left failed too: ${cleanupErr.message})`;
    }
  }

  private run(what: string, argv: string[], input: unknown): Promise<string> {
    return runExecCommand({
      what,
      argv,
      input,
      timeoutMs: this.timeoutMs,
      ...(this.opts.cwd === undefined ? {} : { cwd: this.opts.cwd }),
      ...(this.opts.killGraceMs === undefined ? {} : { killGraceMs: this.opts.killGraceMs }),
    });
  }
}

/** The pool of a node named `POOL-INSTANCE`, or undefined for any other name. */
export function poolOf(name: string): string | undefined {
  const m = /^(.+)-\d{1,3}$/.exec(name);
  return m !== null && PoolNameSchema.safeParse(m[1]).success ? m[1] : undefined;
}

/** Creates and destroys of one node name, in this process, one after another. */
const oneAtATime = perName();
