import { ValidationError } from "../errors.js";
import { CompactedError, type KeyRange, type Store } from "../store/index.js";

const MAX_WAIT_MS = 10 * 60_000;

/** Parse Consul's `wait` (e.g. `30s`, `5m`, `250ms`; default 5 minutes, at most 10). */
export function parseWait(raw: string | null): number {
  if (raw === null || raw === "") return 5 * 60_000;
  const m = /^(\d{1,7})(ms|s|m)?$/.exec(raw);
  if (m === null)
    throw new ValidationError('wait must be a duration like "30s", "5m" or "250ms"', "wait");
  const n = Number(m[1]);
  const ms = m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
  return Math.min(ms, MAX_WAIT_MS);
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
}
