export interface WaitTimes {
  /** Render once the data has been quiet this long… */
  minMs: number;
  /** …but never later than this after the first change. */
  maxMs: number;
}

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** When to fire, given the first and the latest change of a burst (consul-template's wait). */
export function fireAt(firstChange: number, lastChange: number, wait: WaitTimes): number {
  return Math.min(lastChange + wait.minMs, firstChange + Math.max(wait.maxMs, wait.minMs));
}

/** Coalesces bursts of changes into one call: quiet for `min`, at the latest after `max`. */
export class Debouncer {
  private first: number | undefined;
  private timer: unknown;

  constructor(
    private readonly wait: WaitTimes,
    private readonly fire: () => void,
    private readonly timers: Timers = realTimers,
  ) {}

  trigger(): void {
    const now = this.timers.now();
    this.first ??= now;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    const delay = Math.max(0, fireAt(this.first, now, this.wait) - now);
    this.timer = this.timers.setTimeout(() => {
      this.first = undefined;
      this.timer = undefined;
      this.fire();
    }, delay);
  }

  cancel(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.first = undefined;
  }
}
