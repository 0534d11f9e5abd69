/**
 * When a failed delivery is tried again (pure): exponential backoff with jitter — about 1 s,
 * 2 s, 4 s … capped at 5 min — and when to give up: after 20 attempts or a day.
 */
export const BACKOFF = {
  firstMs: 1000,
  capMs: 5 * 60_000,
  maxAttempts: 20,
  maxAgeMs: 24 * 3_600_000,
  /** The delay is drawn from [d·(1−jitter), d] (so retries of many entries spread out). */
  jitter: 0.2,
} as const;

/** The delay after the `attempts`-th failed attempt (1-based); `rand` in [0, 1). */
export function retryDelayMs(attempts: number, rand: number = Math.random()): number {
  const exp = BACKOFF.firstMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30);
  const d = Math.min(exp, BACKOFF.capMs);
  return Math.round(d * (1 - BACKOFF.jitter * rand));
}

/** Whether to drop an entry after `attempts` failed attempts, first made at `createdMs`. */
export function giveUp(attempts: number, createdMs: number, nowMs: number): boolean {
  return attempts >= BACKOFF.maxAttempts || nowMs - createdMs >= BACKOFF.maxAgeMs;
}
