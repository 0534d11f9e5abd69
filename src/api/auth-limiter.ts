/**
 * Failed authentications per client address in a sliding window. Past `max` failures an address
 * is told to wait (429 with Retry-After) until its oldest failure leaves the window; other
 * addresses are not affected. Memory is bounded: at most `maxAddresses` are tracked, the
 * longest-quiet one forgotten first.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();
  readonly max: number;
  readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(
    opts: { max?: number; windowMs?: number; maxAddresses?: number; now?: () => number } = {},
  ) {
    this.max = opts.max ?? 20;
    this.windowMs = opts.windowMs ?? 60_000;
    this.maxAddresses = opts.maxAddresses ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Seconds the address must wait before its next failure is answered (0: not limited). */
  retryAfter(address: string): number {
    const times = this.recent(address);
    if (times.length < this.max) return 0;
    const waitMs = times[times.length - this.max]! + this.windowMs - this.now();
    return Math.max(1, Math.ceil(waitMs / 1000));
  }

  /** Record one failed authentication from the address. */
  fail(address: string): void {
    const times = this.recent(address);
    times.push(this.now());
    if (times.length > this.max) times.splice(0, times.length - this.max);
    // Re-insert so the Map's order is least recently failed first.
    this.failures.delete(address);
    this.failures.set(address, times);
    while (this.failures.size > this.maxAddresses) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
  }

  private recent(address: string): number[] {
    const times = this.failures.get(address);
    if (times === undefined) return [];
    const since = this.now() - this.windowMs;
    while (times.length > 0 && times[0]! <= since) times.shift();
    if (times.length === 0) this.failures.delete(address);
    return times;
  }
}
