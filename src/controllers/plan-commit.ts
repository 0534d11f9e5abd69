/**
 * Committing a bulk placement (many new assignments at once) to the store in transactions within
 * etcd's limits (src/scheduler/batches.ts): each transaction creates its keys only if none of
 * them exists yet (a compare per key), so a plan applied twice, or racing another, writes
 * nothing twice. Transactions go `parallel` at a time (default 4).
 */
import type { Store } from "../store/index.js";
import { batches, type Write } from "../scheduler/batches.js";

export interface CommitResult {
  transactions: number;
  /** Batches not written because one of their keys already existed. */
  conflicts: number;
  revision: number;
}

export async function commitCreates(
  store: Store,
  writes: readonly Write[],
  parallel = 4,
): Promise<CommitResult> {
  // In key order: sequential inserts (about 3x faster on the embedded store than random ones).
  const list = batches([...writes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
  const out: CommitResult = { transactions: list.length, conflicts: 0, revision: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const b = list[next++]!;
      const res = await store.txn({
        compare: b.map((w) => ({ key: w.key, target: "version", op: "==", value: 0 })),
        success: b.map((w) => ({ type: "put", key: w.key, value: w.value })),
      });
      if (!res.succeeded) out.conflicts++;
      out.revision = Math.max(out.revision, res.revision);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, list.length) }, worker));
  return out;
}
