/**
 * A pool node with roles takes no app instances until it has converged (issue 14: "a node's
 * roles and converge state are applied before it takes app instances"). It is made drained —
 * the record `gantry nodes:drain` writes, `by` naming this gate — and the drain goes once its
 * first converge run after its create succeeded. A drain someone else wrote (by hand, or the
 * pool's own scale-down) is never lifted here.
 */
import { drainKey } from "../catalog/keys.js";
import type { NodeDrain } from "../model/node.js";
import type { PoolRecord } from "../model/pool.js";
import { text, type Store, type TxnOp } from "../store/index.js";
import type { PoolNodeRecord } from "./pools-types.js";

/** The `by` of the drain a converging node is made with. */
export const gateBy = (pool: string): string => `pool ${pool}: until it has converged`;

/** The drain a new node of `pool` starts with, when the pool has roles. */
export function gateOps(pool: PoolRecord, node: PoolNodeRecord): TxnOp[] {
  if (pool.spec.roles.length === 0) return [];
  const drain: NodeDrain = { node: node.name, since: node.createdAt, by: gateBy(pool.name) };
  return [{ type: "put", key: drainKey(node.name), value: JSON.stringify(drain) }];
}

export class ConvergeGate {
  /** Nodes whose gate is known open, with the create it was opened for. */
  private readonly open = new Map<string, string>();

  constructor(private readonly store: Store) {}

  /** Lift the gate of every node in `converged` (not leaving the pool) that still has it. */
  async release(
    pool: PoolRecord,
    nodes: readonly PoolNodeRecord[],
    converged: ReadonlySet<string>,
  ): Promise<void> {
    for (const node of nodes) {
      if (!converged.has(node.name) || node.retiring !== undefined) continue;
      if (this.open.get(node.name) === node.createdAt) continue;
      const key = drainKey(node.name);
      const kv = await this.store.get(key);
      if (kv !== undefined && byOf(text(kv.value)) === gateBy(pool.name))
        await this.store.txn({
          compare: [{ key, target: "modRevision", op: "==", value: kv.modRevision }],
          success: [{ type: "delete", range: key }],
        });
      this.open.set(node.name, node.createdAt);
    }
  }
}

function byOf(raw: string): string | undefined {
  try {
    return (JSON.parse(raw) as Partial<NodeDrain>).by;
  } catch {
    return undefined;
  }
}
