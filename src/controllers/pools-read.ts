/**
 * What the pool controller reads from the store for one round, in one transaction: the pools,
 * the controller's node records, which nodes are live and which have assignments, and the status
 * last written. Converge runs are read per node, only for pools with roles.
 */
import { K } from "../model/keys.js";
import { RunRecordSchema } from "../model/converge.js";
import type { PoolRecord, PoolStatus } from "../model/pool.js";
import { text, type KeyValue, type Store, type TxnResult } from "../store/index.js";
import type { PoolNodeRecord } from "./pools-types.js";

export interface StoreView {
  pools: { record: PoolRecord; modRevision: number }[];
  /** pools/nodes/<pool>/<node>, by pool. */
  nodes: Map<string, PoolNodeRecord[]>;
  /** Nodes with a `nodes/<name>` key: joined, their lease holding. */
  live: Set<string>;
  /** Nodes with at least one assignment. */
  busy: Set<string>;
  statuses: Map<string, PoolStatus>;
}

export const poolNodeKey = (pool: string, node: string): string => `${K.poolNodes}${pool}/${node}`;

export async function readStoreView(store: Store): Promise<StoreView> {
  // Most clusters have no pools: one small read, not the nodes and assignments, each round.
  const any = await store.range({ prefix: K.poolSpecs }, { keysOnly: true, limit: 1 });
  if (any.count === 0)
    return { pools: [], nodes: new Map(), live: new Set(), busy: new Set(), statuses: new Map() };
  const res = await store.txn({
    success: [
      { type: "get", range: { prefix: K.poolSpecs } },
      { type: "get", range: { prefix: K.poolNodes } },
      { type: "get", range: { prefix: K.nodes }, keysOnly: true },
      { type: "get", range: { prefix: K.assignments }, keysOnly: true },
      { type: "get", range: { prefix: K.poolStatus } },
    ],
  });
  const pools = kvs(res, 0).flatMap((kv) => {
    const record = parse<PoolRecord>(kv);
    return record === undefined ? [] : [{ record, modRevision: kv.modRevision }];
  });
  const nodes = new Map<string, PoolNodeRecord[]>();
  for (const kv of kvs(res, 1)) {
    const rec = parse<PoolNodeRecord>(kv);
    if (rec === undefined) continue;
    const list = nodes.get(rec.pool) ?? [];
    list.push(rec);
    nodes.set(rec.pool, list);
  }
  const live = new Set(kvs(res, 2).map((kv) => kv.key.slice(K.nodes.length)));
  const busy = new Set(kvs(res, 3).map((kv) => kv.key.slice(K.assignments.length).split("/")[0]!));
  const statuses = new Map<string, PoolStatus>();
  for (const kv of kvs(res, 4)) {
    const s = parse<PoolStatus>(kv);
    if (s !== undefined) statuses.set(s.name, s);
  }
  return { pools, nodes, live, busy, statuses };
}

/**
 * The nodes that have converged: their latest run succeeded and finished after the node was
 * created (a run of the machine it replaced does not count) — or no states were pushed at all.
 */
export async function readConverged(
  store: Store,
  nodes: readonly PoolNodeRecord[],
): Promise<Set<string>> {
  const out = new Set<string>();
  // No states pushed: an agent has nothing to apply, and records no run.
  if ((await store.get(K.convergeStates, { keysOnly: true })) === undefined)
    return new Set(nodes.map((n) => n.name));
  await Promise.all(
    nodes.map(async (rec) => {
      const kv = await store.get(K.convergeRuns + rec.name);
      if (kv === undefined) return;
      const runs = parse<unknown[]>(kv);
      const latest = RunRecordSchema.safeParse(Array.isArray(runs) ? runs[0] : undefined);
      if (!latest.success) return;
      const run = latest.data;
      const ok = run.error === undefined && (run.summary?.failed ?? 0) === 0;
      if (ok && Date.parse(run.finishedAt) >= Date.parse(rec.createdAt)) out.add(rec.name);
    }),
  );
  return out;
}

function kvs(res: TxnResult, i: number): KeyValue[] {
  const r = res.results[i];
  return r?.type === "get" ? r.kvs : [];
}

function parse<T>(kv: KeyValue): T | undefined {
  try {
    return JSON.parse(text(kv.value)) as T;
  } catch {
    return undefined;
  }
}
