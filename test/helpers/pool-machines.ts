/**
 * For the pool provider tests: a machine's agent as /proc shows it, what a create refused with,
 * and waiting for what a pool or its node will show.
 */
import { readFileSync } from "node:fs";
import type { NodeRecord } from "../../src/model/node.js";
import { agentPolicies } from "../../src/model/policies.js";
import type { NodeProvider, NodeSpec, PoolNode } from "../../src/pools/provider.js";
import { text, type Store } from "../../src/store/index.js";
import type { TestApi } from "./api.js";

/** The argv of process `pid` while it runs (not a zombie); undefined when it does not. */
export function liveArgv(pid: number | string): string[] | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    return state === "Z" ? undefined : argv;
  } catch {
    return undefined;
  }
}

/** The value of `flag` in `argv` (the argument after it). */
export const flagOf = (argv: string[], flag: string): string | undefined =>
  argv[argv.indexOf(flag) + 1];

/** What `p` rejected with; undefined when it resolved. */
export function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** `f()` every 100 ms until it gives a value; fails after `ms`, naming `what`. */
export async function until<T>(
  what: string,
  ms: number,
  f: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Node `name`'s record once its agent joined, or undefined if it did not within `ms`. */
export async function joinedRecord(
  store: Store,
  name: string,
  ms = 20_000,
): Promise<NodeRecord | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const kv = await store.get(`nodes/${name}`);
    if (kv !== undefined) return JSON.parse(text(kv.value)) as NodeRecord;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Create node `spec` with a node token of the real server `t` (an agent's policies for its
 * name): the node, the token, and the node's record once its agent joined (undefined if not).
 */
export async function createJoined(
  t: TestApi,
  provider: NodeProvider,
  spec: Omit<NodeSpec, "credentials">,
): Promise<{ node: PoolNode; secret: string; record: NodeRecord | undefined }> {
  const { secret } = await t.clientWith(agentPolicies(spec.name), `agent-${spec.name}`);
  const node = await provider.create({
    ...spec,
    credentials: { server: t.url, nodeToken: secret },
  });
  return { node, secret, record: await joinedRecord(t.store, spec.name) };
}
