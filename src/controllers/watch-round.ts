import type { Store, WatchEvent } from "../store/index.js";

export interface WatchRound {
  store: Store;
  prefixes: readonly string[];
  prevKv?: boolean;
  /** The controller's cancels: replaced by this round's, so that its stop() ends the watches. */
  cancels: (() => void)[];
  /** Once the watches are open: look at what changed before they began (may throw). */
  opened(): void | Promise<void>;
  onBatch(batch: WatchEvent[]): void;
  /**
   * The controller's stop: ends the round. Needed besides `cancels`, because a stop that comes
   * while the watches are being opened finds no cancel to call yet.
   */
  signal?: AbortSignal;
}

/**
 * Watch every prefix from one revision until any watch ends — compacted, failed, or closed —
 * then cancel them all and return why (a prefix left unwatched would only be seen by a resync).
 */
export async function watchRound(r: WatchRound): Promise<unknown> {
  let failed: unknown;
  const cancelAll = (): void => r.cancels.forEach((cancel) => cancel());
  r.signal?.addEventListener("abort", cancelAll);
  try {
    const from = (await r.store.status()).revision + 1;
    const opts = { startRevision: from, ...(r.prevKv === true ? { prevKv: true } : {}) };
    const watches = r.prefixes.map((prefix) => r.store.watch({ prefix }, opts));
    r.cancels.splice(0, r.cancels.length, ...watches.map((w) => () => w.cancel()));
    if (r.signal?.aborted === true) throw new Error("stopped");
    await r.opened();
    const loops = watches.map(async (w) => {
      for await (const batch of w) r.onBatch(batch);
    });
    for (const loop of loops) loop.catch(() => undefined); // the first to end is enough
    await Promise.race(loops);
    failed = new Error("a watch ended");
  } catch (err) {
    failed = err;
  }
  r.signal?.removeEventListener("abort", cancelAll);
  cancelAll();
  return failed;
}
