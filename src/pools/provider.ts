/**
 * Node providers make machines for pools (issue 14): `local` (an agent process on this machine),
 * later `docker`, `ssh` and `exec`. A provider only creates, destroys and reports machines; the
 * pool controller decides which, and whether a machine is healthy comes from the node records
 * its agent keeps in the store, not from the provider. Every provider passes ./contract.ts.
 */

import type { PoolRecord } from "../model/pool.js";

/** How a new node's agent joins the cluster. */
export type NodeCredentials =
  /** A join token (`gantry join-tokens create`); joining needs the server's https:// URL. */
  | { server: string; joinToken: string }
  /** A node token for `node:NAME:write` and `service::write` (plain http on loopback). */
  | { server: string; nodeToken: string };

/** What the pool controller asks a provider to create. */
export interface NodeSpec {
  /** The node's name, unique in the cluster (the agent joins under it), e.g. `web-2`. */
  name: string;
  pool: string;
  /** Its instance number on the address plan (reused after a replacement). */
  instance: number;
  /** Its address on the plan, e.g. `10.100.6.2`. */
  address: string;
  credentials: NodeCredentials;
}

/**
 * What a provider knows of a machine. `running`: the machine (process, container, host's agent
 * service) runs; `stopped`: it exists but does not run (died, killed, host down) and waits to be
 * destroyed; a machine being made is not listed until `create` has resolved.
 */
export type MachineState = "running" | "stopped";

/** A node as its provider sees it. */
export interface PoolNode {
  name: string;
  pool: string;
  instance: number;
  address: string;
  state: MachineState;
  /** The provider's own handle: a pid, a container id, a host, a cloud server id. */
  providerId: string;
  /** ISO 8601: when `create` made it. */
  createdAt: string;
}

export interface NodeProvider {
  /** The provider's kind as written in `pools.NAME.provider`. */
  readonly name: string;
  /**
   * Create a machine running an agent that joins as `spec.name`; resolves once the machine
   * runs (not once it has joined: the controller watches the node records for that). Rejects
   * with a `conflict` error when a node of that name exists, and leaves nothing behind when it
   * fails.
   */
  create(spec: NodeSpec): Promise<PoolNode>;
  /**
   * Stop the machine and everything it runs, and forget it; resolves once nothing of it is
   * left. Destroying a node that does not exist (or no longer does) resolves too.
   */
  destroy(name: string): Promise<void>;
  /**
   * The pool's machines this provider made, running or not — also those made by an earlier
   * Gantry process (a provider finds its machines again from durable marks such as a data dir,
   * labels or tags, never from a process or host name alone).
   */
  list(pool: string): Promise<PoolNode[]>;
  /** One machine by node name, or undefined when this provider has none of that name. */
  describe(name: string): Promise<PoolNode | undefined>;
}

/**
 * The providers a server offers pools. A provider may depend on the pool's own settings (a
 * docker pool's image, an ssh pool's hosts, an exec pool's commands), so the controller asks
 * for one per pool; a registry hands out the same object while the settings stay the same.
 */
export interface ProviderRegistry {
  /** The names pools may give in `provider:` (`local`, `docker`, `ssh`, `exec`). */
  readonly names: readonly string[];
  /** The provider `name` for `pool` (its settings), or undefined when the server has none. */
  get(name: string, pool: PoolRecord): NodeProvider | undefined;
}

/** A registry from one factory per provider name; objects kept per pool and settings. */
export function providerRegistry(
  factories: Readonly<Record<string, (pool: PoolRecord) => NodeProvider>>,
): ProviderRegistry {
  const made = new Map<string, { settings: string; provider: NodeProvider }>();
  return {
    names: Object.keys(factories),
    get(name, pool) {
      const factory = Object.hasOwn(factories, name) ? factories[name] : undefined;
      if (factory === undefined) return undefined;
      const key = `${name}/${pool.name}`;
      const settings = JSON.stringify(pool.spec[name as "docker" | "ssh" | "exec"] ?? null);
      const known = made.get(key);
      if (known !== undefined && known.settings === settings) return known.provider;
      const provider = factory(pool);
      made.set(key, { settings, provider });
      return provider;
    },
  };
}

/** A fixed set of providers that need no pool settings (tests, `local`) as a registry. */
export function fixedProviders(
  providers: Readonly<Record<string, NodeProvider>>,
): ProviderRegistry {
  return {
    names: Object.keys(providers),
    get: (name) => (Object.hasOwn(providers, name) ? providers[name] : undefined),
  };
}
