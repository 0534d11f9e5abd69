/**
 * A wake-up call for a loop that sleeps. Take `next()` at the top of an iteration, decide, then
 * `sleep(woke, ms)`: a kick that came while deciding is not missed.
 */
export class Waker {
  private promise!: Promise<void>;
  private release!: () => void;

  constructor() {
    this.arm();
  }

  private arm(): void {
    this.promise = new Promise((resolve) => (this.release = resolve));
  }

  kick(): void {
    const release = this.release;
    this.arm();
    release();
  }

  next(): Promise<void> {
    return this.promise;
  }
}

/** Until `woke` resolves, or `ms` passed (never, when undefined). */
export function sleep(woke: Promise<void>, ms?: number): Promise<void> {
  if (ms === undefined) return woke;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    woke,
    new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms)))),
  ]).finally(() => clearTimeout(timer));
}
