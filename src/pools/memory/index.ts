import { conflict } from "../../errors.js";
import { NodeNameSchema } from "../../model/node.js";
import { parseWith } from "../../validate.js";
import type { NodeProvider, NodeSpec, PoolNode } from "../provider.js";

/**
 * Machines that exist only in memory: the complete fake behind the provider interface (like
 * Nomad's mock driver), for the pool controller's tests. Several providers sharing one
 * `MemoryMachines` stand for one provider across server restarts.
 */
export class MemoryMachines {
  readonly nodes = new Map<string, PoolNode>();
  private seq = 0;

  nextId(): string {
    return `m${++this.seq}`;
  }

  /** A machine dies: it stays listed, stopped, until it is destroyed. */
  crash(name: string): void {
    const node = this.nodes.get(name);
    if (node !== undefined) this.nodes.set(name, { ...node, state: "stopped" });
  }
}

/** The `memory` provider over `machines`. */
export class MemoryProvider implements NodeProvider {
  readonly name = "memory";

  constructor(private readonly machines: MemoryMachines = new MemoryMachines()) {}

  // async: a bad spec rejects like any other failure rather than throwing at the call.
  async create(spec: NodeSpec): Promise<PoolNode> {
    parseWith(NodeNameSchema, spec.name, "name");
    parseWith(NodeNameSchema, spec.pool, "pool");
    if (this.machines.nodes.has(spec.name)) throw conflict(`node ${spec.name} already exists`);
    const node: PoolNode = {
      name: spec.name,
      pool: spec.pool,
      instance: spec.instance,
      address: spec.address,
      state: "running",
      providerId: this.machines.nextId(),
      createdAt: new Date().toISOString(),
    };
    this.machines.nodes.set(spec.name, node);
    return { ...node };
  }

  destroy(name: string): Promise<void> {
    this.machines.nodes.delete(name);
    return Promise.resolve();
  }

  list(pool: string): Promise<PoolNode[]> {
    const nodes = [...this.machines.nodes.values()].filter((n) => n.pool === pool);
    return Promise.resolve(nodes.sort((a, b) => a.instance - b.instance).map((n) => ({ ...n })));
  }

  describe(name: string): Promise<PoolNode | undefined> {
    const node = this.machines.nodes.get(name);
    return Promise.resolve(node === undefined ? undefined : { ...node });
  }
}
