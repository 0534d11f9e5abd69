/**
 * Splitting a plan's writes into transactions the store takes: at most MAX_TXN_OPS operations
 * (etcd's default --max-txn-ops is 128; compares count separately, against the same limit) and
 * MAX_TXN_BYTES of keys and values each. Pure; the store side is src/controllers/plan-commit.ts.
 */
import { MAX_TXN_BYTES, MAX_TXN_OPS } from "../store/limits.js";

export interface Write {
  key: string;
  value: string;
}

/** Consecutive runs of `writes`, each within the limits (a write alone over them still goes alone). */
export function batches(
  writes: readonly Write[],
  maxOps: number = MAX_TXN_OPS,
  maxBytes: number = MAX_TXN_BYTES,
): Write[][] {
  const out: Write[][] = [];
  let cur: Write[] = [];
  let bytes = 0;
  for (const w of writes) {
    const b = Buffer.byteLength(w.key) + Buffer.byteLength(w.value);
    if (cur.length > 0 && (cur.length >= maxOps || bytes + b > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(w);
    bytes += b;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
