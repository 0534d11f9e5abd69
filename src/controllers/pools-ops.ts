/**
 * The store writes of the pool controller's actions: what a node is given before its machine is
 * made (converge settings, labels, the controller's record), the drain of a leaving node (the
 * record `gantry nodes:drain` writes), and what is forgotten once it is destroyed.
 */
import { drainKey, nodeKey } from "../catalog/keys.js";
import type { NodeConverge } from "../model/converge.js";
import { K } from "../model/keys.js";
import type { NodeDrain } from "../model/node.js";
import type { PoolRecord } from "../model/pool.js";
import { NO_LEASE, type Store, type TxnOp, type TxnRequest } from "../store/index.js";
import { gateOps } from "./pools-gate.js";
import { poolNodeKey } from "./pools-read.js";
import type { PoolNodeRecord } from "./pools-types.js";

const put = (key: string, value: unknown): TxnOp => ({
  type: "put",
  key,
  value: JSON.stringify(value),
});

/** The labels a pool node carries (`sys/node-labels/<name>`): the pool's, plus pool and address. */
export const nodeLabels = (pool: PoolRecord, node: PoolNodeRecord): Record<string, string> => ({
  ...pool.spec.labels,
  pool: pool.name,
  address: node.address,
});

/**
 * A pool node's converge settings: the pool's roles and vars, and its labels with the pool and
 * the address (its states read them as facts.pool, facts.address).
 */
export const convergeSettings = (pool: PoolRecord, node: PoolNodeRecord): NodeConverge => ({
  roles: pool.spec.roles,
  vars: pool.spec.vars,
  labels: nodeLabels(pool, node),
});

/**
 * Before the machine is made: its record (so a new leader finds the create), its converge
 * settings (as `nodes:` writes them: it converges before it takes instances) and its labels.
 */
export function beforeCreate(pool: PoolRecord, node: PoolNodeRecord): TxnOp[] {
  const converge = convergeSettings(pool, node);
  return [
    put(poolNodeKey(pool.name, node.name), node),
    put(K.convergeNodes + node.name, converge),
    put(K.nodeLabels + node.name, nodeLabels(pool, node)),
    ...gateOps(pool, node),
  ];
}

/** Drain a leaving node like `gantry nodes:drain` (a drain already there is kept) and mark it. */
export function drainNode(node: PoolNodeRecord, reason: string, now: Date): TxnRequest {
  const key = drainKey(node.name);
  const drain: NodeDrain = { node: node.name, since: now.toISOString(), by: `pool ${node.pool}` };
  const marked: PoolNodeRecord = { ...node, retiring: { since: now.toISOString(), reason } };
  return {
    compare: [{ key, target: "version", op: "==", value: 0 }],
    success: [put(key, drain), put(poolNodeKey(node.pool, node.name), marked)],
    failure: [put(poolNodeKey(node.pool, node.name), marked)],
  };
}

/**
 * After its machine is destroyed. Its `nodes/<name>` key goes either way (the agent is gone;
 * the next one to join under the name is the new machine's). Repaired: the record stays, marked,
 * to be created again with its number. Otherwise everything the pool gave it goes.
 */
export function afterDestroy(node: PoolNodeRecord, repair: boolean): TxnOp[] {
  const del = (key: string): TxnOp => ({ type: "delete", range: key });
  if (repair) {
    const { joinedAt: _joined, ...rest } = node;
    return [
      del(nodeKey(node.name)),
      put(poolNodeKey(node.pool, node.name), { ...rest, repairing: true }),
    ];
  }
  return [
    del(nodeKey(node.name)),
    del(poolNodeKey(node.pool, node.name)),
    del(drainKey(node.name)),
    del(K.nodeLabels + node.name),
    del(K.convergeNodes + node.name),
  ];
}

/** A deleted pool with no node left: its spec (as it was planned), status and records go. */
export function deletePool(name: string, specRevision: number): TxnRequest {
  const spec = K.poolSpecs + name;
  return {
    compare: [{ key: spec, target: "modRevision", op: "==", value: specRevision }],
    success: [
      { type: "delete", range: spec },
      { type: "delete", range: K.poolStatus + name },
      { type: "delete", range: { prefix: `${K.poolNodes}${name}/` } },
    ],
  };
}

/**
 * Before a create: no machine of this name is listed, so a `nodes/<name>` key is stale (an
 * earlier machine's, its lease not run out) and would pass for the new agent's join. Its lease
 * goes — an agent that does run after all (a create racing this one) joins again without it.
 */
export async function endStaleJoin(store: Store, node: string): Promise<void> {
  const kv = await store.get(nodeKey(node), { keysOnly: true });
  if (kv === undefined) return;
  if (kv.lease === NO_LEASE) await store.delete(nodeKey(node));
  else await store.revokeLease(kv.lease).catch(() => undefined);
}
