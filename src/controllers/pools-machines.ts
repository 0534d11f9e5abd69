/**
 * The machines of a pool as its providers list them, for the pool controller. A pool's nodes may
 * sit with more than one provider (its `provider:` changed: the old nodes are replaced one at a
 * time, and destroyed by the provider that made them), so every provider a node record names is
 * listed. Lists are kept for `everyMs` — a provider may be slow to ask (a cloud's API) — and
 * asked again at once after the controller's own creates and destroys.
 */
import type { PoolRecord } from "../model/pool.js";
import type { NodeProvider, PoolNode, ProviderRegistry } from "../pools/provider.js";
import type { PoolNodeRecord } from "./pools-types.js";

export interface PoolMachines {
  machines: PoolNode[];
  /** The provider that made each machine (by node name). */
  owner: Map<string, NodeProvider>;
}

export class MachineLists {
  private readonly cache = new Map<string, { at: number; nodes: PoolNode[] }>();

  constructor(
    private readonly providers: ProviderRegistry,
    private readonly everyMs: (provider: string) => number,
    private readonly now: () => number,
  ) {}

  /** The provider names the pool's nodes need; those this server lacks, if any. */
  missing(pool: PoolRecord, nodes: readonly PoolNodeRecord[]): string[] {
    return [...this.names(pool, nodes)].filter((n) => this.providers.get(n, pool) === undefined);
  }

  async list(pool: PoolRecord, nodes: readonly PoolNodeRecord[]): Promise<PoolMachines> {
    const out: PoolMachines = { machines: [], owner: new Map() };
    for (const name of this.names(pool, nodes)) {
      const provider = this.providers.get(name, pool);
      if (provider === undefined) continue;
      const key = `${name}/${pool.name}`;
      let cached = this.cache.get(key);
      if (cached === undefined || this.now() - cached.at >= this.everyMs(name)) {
        cached = { at: this.now(), nodes: await provider.list(pool.name) };
        this.cache.set(key, cached);
      }
      for (const m of cached.nodes) {
        if (out.owner.has(m.name)) continue;
        out.machines.push(m);
        out.owner.set(m.name, provider);
      }
    }
    out.machines.sort((a, b) => a.instance - b.instance);
    return out;
  }

  /** After a create or destroy: the next look asks the providers again. */
  forget(pool: string): void {
    for (const key of this.cache.keys()) if (key.endsWith(`/${pool}`)) this.cache.delete(key);
  }

  private names(pool: PoolRecord, nodes: readonly PoolNodeRecord[]): Set<string> {
    return new Set([pool.spec.provider, ...nodes.flatMap((n) => n.provider ?? [])]);
  }
}
