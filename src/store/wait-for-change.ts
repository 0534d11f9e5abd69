import { CompactedError, NoQuorumError } from "./errors.js";
import type { KeyRange, Store } from "./types.js";

/**
 * Without quorum, reads come from one member, which may be behind: when it has not even seen
 * revision `index` (which the client read before), answering would take the client back in
 * time (an agent would stop instances it was told to run). Refuse instead; the client keeps
 * what it has and asks again.
 */
function refuseIfBehind(store: Store, index: number): void {
  const d = store.degraded;
  if (d !== undefined && d.revision > 0 && d.revision < index)
    throw new NoQuorumError(d.reachable, d.voters);
}

/**
 * A blocking read (Consul's `?index=N&wait=`): resolve as soon as something in `range` changed
 * after revision `index`, or when `waitMs` passes, or when the server shuts down. Exact, because
 * it watches from `index + 1`: a change that happened before the request also wakes it at once.
 */
export async function waitForChange(
  store: Store,
  range: KeyRange,
  index: number,
  waitMs: number,
  closing: AbortSignal,
): Promise<void> {
  // An index from the future (a client that outran a restarted store) waits for the next change.
  const current = (await store.status()).revision;
  const watch = store.watch(range, { startRevision: Math.min(index, current) + 1 });
  const timer = setTimeout(() => watch.cancel(), waitMs);
  const onClose = (): void => watch.cancel();
  closing.addEventListener("abort", onClose);
  try {
    for await (const _batch of watch) break;
  } catch (err) {
    if (!(err instanceof CompactedError)) throw err; // compacted: answer now with what is there
  } finally {
    clearTimeout(timer);
    closing.removeEventListener("abort", onClose);
    watch.cancel();
  }
  refuseIfBehind(store, index);
}

/**
 * A blocking read over several ranges: resolve as soon as any changed after revision `index`, or
 * after `waitMs`, or when `stop` aborts (server shutdown, client gone). Exact like the KV's
 * waitForChange, for reads that no single range covers without also waking on every write
 * in between (catalog/, health/ and nodes/; a node's converge settings and the states).
 */
export async function waitForAny(
  store: Store,
  ranges: KeyRange[],
  index: number,
  waitMs: number,
  stop: AbortSignal,
): Promise<void> {
  const current = (await store.status()).revision;
  const startRevision = Math.min(index, current) + 1;
  const watches = ranges.map((range) => store.watch(range, { startRevision }));
  const cancelAll = (): void => {
    for (const w of watches) w.cancel();
  };
  const timer = setTimeout(cancelAll, waitMs);
  stop.addEventListener("abort", cancelAll);
  if (stop.aborted) cancelAll();
  try {
    await Promise.race(
      watches.map(async (w) => {
        try {
          for await (const _batch of w) break;
        } catch (err) {
          if (!(err instanceof CompactedError)) throw err; // compacted: answer now
        }
      }),
    );
  } finally {
    clearTimeout(timer);
    stop.removeEventListener("abort", cancelAll);
    cancelAll();
  }
  refuseIfBehind(store, index);
}
