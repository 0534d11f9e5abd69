import type Docker from "dockerode";
import { dockerEngine, engineStatus } from "../../docker/engine.js";
import type { RegistryAuth } from "../../docker/pull.js";
import { conflict, GantryError, ValidationError } from "../../errors.js";
import { parseMemoryMb } from "../../model/app-set.js";
import { NodeNameSchema } from "../../model/node.js";
import type { DockerPoolSettings } from "../../model/pool.js";
import { parseWith } from "../../validate.js";
import { loopbackTwin } from "../address-plan.js";
import { untilAgentStarted } from "../agent-start.js";
import type { NodeProvider, NodeSpec, PoolNode } from "../provider.js";
import { engineFailure, labelledNodes, remove, stopAndRemove } from "./engine.js";
import { bakedNodeImage, defaultNodeImage } from "./image.js";
import { nodeFilter, poolFilter } from "./labels.js";
import { containerOutput, lastLines } from "./logs.js";
import { nodeContainerOptions, TOKEN_FILE, type NodeImage } from "./options.js";
import { fileArchive } from "./token-archive.js";

export interface DockerProviderOptions {
  /** The pool's `docker` settings: `image` (absent: the default node image), `memory`. */
  settings?: DockerPoolSettings;
  /** The engine (default: dockerEngine(), the local socket). */
  engine?: Docker;
  /** Credentials for pulling `settings.image` from a registry host. */
  registryAuth?: (host: string) => RegistryAuth | undefined;
  /** The node image, instead of the one the settings name (tests). */
  nodeImage?: (engine: Docker) => Promise<NodeImage>;
  /** How long an agent may take to start (default 30 s). */
  startTimeoutMs?: number;
  /** How long `destroy` waits after SIGTERM before the engine's SIGKILL (default 10 s). */
  stopGraceMs?: number;
}

/**
 * The `docker` provider: each node is a container named `gantry-node-NAME` running
 * `gantry agent` on the host's network, bound to its address's loopback twin. Its labels are the
 * only truth about it (./labels.ts): `list` and `describe` read them, so a restarted server finds
 * its nodes again. See docs/pools.md, "The docker provider".
 */
export class DockerProvider implements NodeProvider {
  readonly name = "docker";
  private readonly engine: Docker;
  private readonly memoryMb: number | undefined;

  constructor(private readonly opts: DockerProviderOptions = {}) {
    this.engine = opts.engine ?? dockerEngine();
    const memory = opts.settings?.memory;
    this.memoryMb = memory === undefined ? undefined : parseMemoryMb(memory);
    if (memory !== undefined && (this.memoryMb === undefined || this.memoryMb < 64))
      throw new ValidationError(
        `docker.memory: "${memory}" is not a size like 512M or 1G of at least 64M`,
        "docker.memory",
      );
  }

  async create(spec: NodeSpec): Promise<PoolNode> {
    parseWith(NodeNameSchema, spec.name, "name");
    parseWith(NodeNameSchema, spec.pool, "pool");
    if (!Number.isInteger(spec.instance) || spec.instance < 0 || spec.instance > 255)
      throw new ValidationError(
        `instance: a number from 0 to 255, got ${spec.instance}`,
        "instance",
      );
    const bind = loopbackTwin(spec.address);
    const image = await this.image();
    const options = nodeContainerOptions({
      spec,
      image,
      bind,
      createdAt: new Date().toISOString(),
      ...(this.memoryMb === undefined ? {} : { memoryMb: this.memoryMb }),
    });
    let container: Docker.Container;
    try {
      // The engine refuses a second container of the name: of two creates, one wins.
      container = await this.engine.createContainer(options);
    } catch (err) {
      if (engineStatus(err) === 409) throw conflict(`node ${spec.name} already exists`);
      throw engineFailure(`cannot create the container of node ${spec.name}`, err);
    }
    try {
      if ("nodeToken" in spec.credentials)
        await container.putArchive(fileArchive(TOKEN_FILE, spec.credentials.nodeToken + "\n"), {
          path: "/",
        });
      await container.start();
      await this.untilStarted(spec.name, container);
      const node = await this.describe(spec.name);
      if (node?.providerId !== container.id || node.state !== "running")
        throw await this.failed(spec.name, container, "ended");
      return node;
    } catch (err) {
      // Nothing of a node that did not start is left behind.
      await remove(this.engine, container.id).catch(() => undefined);
      if (err instanceof GantryError) throw err;
      throw engineFailure(`cannot start the container of node ${spec.name}`, err);
    }
  }

  async destroy(name: string): Promise<void> {
    if (!NodeNameSchema.safeParse(name).success) return;
    const grace = this.opts.stopGraceMs ?? 10_000;
    // The agent runs with --stop-instances: the stop's SIGTERM stops its instances too.
    for (const node of await labelledNodes(this.engine, nodeFilter(name)))
      await stopAndRemove(this.engine, node.providerId, grace);
  }

  async list(pool: string): Promise<PoolNode[]> {
    if (!NodeNameSchema.safeParse(pool).success) return [];
    const nodes = await labelledNodes(this.engine, poolFilter(pool));
    return nodes.sort((a, b) => a.instance - b.instance || a.name.localeCompare(b.name));
  }

  async describe(name: string): Promise<PoolNode | undefined> {
    if (!NodeNameSchema.safeParse(name).success) return undefined;
    const nodes = await labelledNodes(this.engine, nodeFilter(name));
    return nodes.find((n) => n.state === "running") ?? nodes[0];
  }

  private async image(): Promise<NodeImage> {
    try {
      if (this.opts.nodeImage !== undefined) return await this.opts.nodeImage(this.engine);
      const image = this.opts.settings?.image;
      return image === undefined
        ? await defaultNodeImage(this.engine)
        : await bakedNodeImage(this.engine, image, this.opts.registryAuth);
    } catch (err) {
      throw engineFailure("cannot prepare the node image", err);
    }
  }

  /** Resolves once the agent says it runs; rejects with its last lines if it ends or is slow. */
  private untilStarted(name: string, container: Docker.Container): Promise<void> {
    return untilAgentStarted({
      timeoutMs: this.opts.startTimeoutMs ?? 30_000,
      alive: async () => (await container.inspect()).State.Running,
      output: () => containerOutput(container),
      failed: (why) => this.failed(name, container, why),
    });
  }

  private async failed(name: string, c: Docker.Container, why: string): Promise<GantryError> {
    const output = await containerOutput(c, 20).catch(() => "");
    return new GantryError(
      "node_start_failed",
      `node ${name}: the agent ${why}: ${lastLines(output) || "(no output)"}`,
      { status: 502 },
    );
  }
}
