/** Restart backoff after crashes (Heroku/Nomad-like): 1 s, 2 s, 4 s … at most 30 s. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** An instance that ran this long before it crashed starts again from `baseMs`. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 30_000, resetAfterMs: 30_000 };

/** The wait before restart number `crashes` (1 for the first crash in a row). */
export function restartDelay(crashes: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const exp = Math.min(Math.max(crashes - 1, 0), 30);
  return Math.min(policy.maxMs, policy.baseMs * 2 ** exp);
}

/** Consecutive crashes after one more exit: counting resets when the run was long enough. */
export function nextCrashCount(
  crashes: number,
  uptimeMs: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): number {
  return uptimeMs >= policy.resetAfterMs ? 1 : crashes + 1;
}
