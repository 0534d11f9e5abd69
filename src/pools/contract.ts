/**
 * The contract every node provider keeps (memory; local, docker, ssh, exec as they land), as one
 * vitest suite: `providerContract({ name, newProvider, … })` in a provider's test file runs all
 * of it. A second `newProvider()` stands for the same provider in a restarted server: it must
 * find the first one's machines again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { isGantryError } from "../errors.js";
import type { NodeCredentials, NodeProvider, NodeSpec, PoolNode } from "./provider.js";

export interface ProviderContractOptions {
  name: string;
  newProvider: () => NodeProvider;
  /** What nodes join with (a server that is away is fine: joining is not the provider's part). */
  credentials: NodeCredentials;
  /** Kill a machine from outside the provider, as a machine dying would (SIGKILL, docker kill). */
  crash: (node: PoolNode) => Promise<void>;
  /** Whether the machine runs, seen from outside the provider (/proc, docker ps, ssh). */
  machineRuns: (node: PoolNode) => Promise<boolean>;
  /** How long a machine may take to start or to be seen stopped (default 10 s). */
  timeoutMs?: number;
}

/** Poll until `probe` holds, or fail naming what did not happen. */
async function eventually(what: string, probe: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The error `p` rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
}

export function providerContract(opts: ProviderContractOptions): void {
  const timeout = opts.timeoutMs ?? 10_000;
  describe(`node provider contract: ${opts.name}`, () => {
    // Unique per run, so machines left by an earlier, killed run are never mistaken for ours.
    const tag = `${process.pid.toString(36)}${(Date.now() % 1e6).toString(36)}`;
    const made = new Set<string>();
    let n = 0;

    const spec = (pool = `p${tag}`, instance = ++n): NodeSpec => ({
      name: `${pool}-${instance}`,
      pool,
      instance,
      address: `10.100.6.${instance}`,
      credentials: opts.credentials,
    });
    const create = async (provider: NodeProvider, s: NodeSpec): Promise<PoolNode> => {
      made.add(s.name);
      return provider.create(s);
    };

    afterEach(async () => {
      const provider = opts.newProvider();
      for (const name of made) await provider.destroy(name);
      made.clear();
    });

    it("creates a running machine that describe and list report alike", async () => {
      const provider = opts.newProvider();
      const s = spec();
      const node = await create(provider, s);
      expect(node).toMatchObject({
        name: s.name,
        pool: s.pool,
        instance: s.instance,
        address: s.address,
        state: "running",
      });
      expect(node.providerId).not.toBe("");
      expect(Number.isNaN(Date.parse(node.createdAt))).toBe(false);
      expect(await opts.machineRuns(node)).toBe(true);
      expect(await provider.describe(s.name)).toEqual(node);
      expect(await provider.list(s.pool)).toEqual([node]);
    });

    it("lists a pool's own machines only, by instance number", async () => {
      const provider = opts.newProvider();
      const pool = `a${tag}`;
      const second = await create(provider, spec(pool, 2));
      const first = await create(provider, spec(pool, 1));
      const other = await create(provider, spec(`b${tag}`, 1));
      expect(await provider.list(pool)).toEqual([first, second]);
      expect(await provider.list(`b${tag}`)).toEqual([other]);
      expect(await provider.list(`c${tag}`)).toEqual([]);
    });

    it("refuses a second node of the same name and keeps the first", async () => {
      const provider = opts.newProvider();
      const s = spec();
      const node = await create(provider, s);
      const err = await rejection(provider.create({ ...s, instance: 99, address: "10.0.0.99" }));
      expect(isGantryError(err) && err.code).toBe("conflict");
      expect(await provider.describe(s.name)).toEqual(node);
      expect(await opts.machineRuns(node)).toBe(true);
    });

    it("creates a name once when two creates race for it", async () => {
      const s = spec();
      made.add(s.name);
      const results = await Promise.allSettled([
        opts.newProvider().create(s),
        opts.newProvider().create({ ...s, instance: 98 }),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost.map((r) => isGantryError(r.reason) && r.reason.code)).toEqual(["conflict"]);
      expect(await opts.newProvider().list(s.pool)).toEqual([won[0]!.value]);
    });

    it("refuses a node name that is not a host name, leaving nothing behind", async () => {
      const provider = opts.newProvider();
      const s = { ...spec(), name: "../escape" };
      const err = await rejection(provider.create(s));
      expect(isGantryError(err) && err.code).toBe("invalid_argument");
      expect(await provider.list(s.pool)).toEqual([]);
    });

    it("finds its machines again from a new provider (a restarted server)", async () => {
      const s = spec();
      const node = await create(opts.newProvider(), s);
      const again = opts.newProvider();
      expect(await again.describe(s.name)).toEqual(node);
      expect(await again.list(s.pool)).toEqual([node]);
      await again.destroy(s.name);
      expect(await opts.machineRuns(node)).toBe(false);
    });

    it("reports a machine that died as stopped, until it is destroyed", async () => {
      const provider = opts.newProvider();
      const s = spec();
      const node = await create(provider, s);
      await opts.crash(node);
      await eventually(
        "the machine reported stopped",
        async () => (await provider.describe(s.name))?.state === "stopped",
        timeout,
      );
      expect(await opts.newProvider().list(s.pool)).toEqual([{ ...node, state: "stopped" }]);
      await provider.destroy(s.name);
      expect(await provider.describe(s.name)).toBeUndefined();
      expect(await provider.list(s.pool)).toEqual([]);
    });

    it("destroys completely, and destroying again or an unknown name resolves", async () => {
      const provider = opts.newProvider();
      const s = spec();
      const node = await create(provider, s);
      await provider.destroy(s.name);
      expect(await opts.machineRuns(node)).toBe(false);
      expect(await provider.describe(s.name)).toBeUndefined();
      expect(await provider.list(s.pool)).toEqual([]);
      await provider.destroy(s.name);
      await provider.destroy(`never-${tag}`);
    });

    it("creates a replacement under the same name and address once the old one is destroyed", async () => {
      const provider = opts.newProvider();
      const s = spec();
      const old = await create(provider, s);
      await opts.crash(old);
      await provider.destroy(s.name);
      const replacement = await create(provider, s);
      expect(replacement).toMatchObject({ name: s.name, address: s.address, state: "running" });
      expect(replacement.providerId).not.toBe(old.providerId);
      expect(await opts.machineRuns(replacement)).toBe(true);
    });
  });
}
