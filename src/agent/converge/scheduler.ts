import type { Trigger } from "../../model/converge.js";

export interface RunSchedulerOptions {
  /** Run converge for these triggers (every change folded in since the last run began). */
  run: (triggers: Trigger[]) => Promise<void>;
  /** Wait this long after a change for more to arrive before a run starts (default 200 ms). */
  debounceMs?: number;
  /** But start at the latest this long after the first waiting change (default 2 s). */
  maxWaitMs?: number;
}

/**
 * Runs never overlap: a change while a run is going queues exactly one more run, however many
 * changes arrive, and that run starts after the current one ends (and a short debounce).
 * Pure scheduling: no I/O, so it is tested with plain functions.
 */
export class RunScheduler {
  private pending: Trigger[] = [];
  private running: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private firstPendingAt: number | undefined;
  private readonly debounceMs: number;
  private readonly maxWaitMs: number;

  constructor(private readonly opts: RunSchedulerOptions) {
    this.debounceMs = opts.debounceMs ?? 200;
    this.maxWaitMs = opts.maxWaitMs ?? 2000;
  }

  /** A change happened: run (again) soon. */
  request(trigger: Trigger): void {
    if (this.stopped) return;
    const same = this.pending.some((t) => JSON.stringify(t) === JSON.stringify(trigger));
    if (!same && this.pending.length < 100) this.pending.push(trigger);
    if (this.running === undefined) this.arm();
  }

  /** True while a run is going. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Stop scheduling; resolves when the current run (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Debounce like consul-template: quiet for `debounceMs`, but no later than `maxWaitMs`. */
  private arm(): void {
    clearTimeout(this.timer);
    const now = Date.now();
    this.firstPendingAt ??= now;
    const latest = this.firstPendingAt + this.maxWaitMs - now;
    this.timer = setTimeout(() => this.start(), Math.max(0, Math.min(this.debounceMs, latest)));
  }

  private start(): void {
    this.timer = undefined;
    if (this.stopped || this.running !== undefined || this.pending.length === 0) return;
    const triggers = this.pending;
    this.pending = [];
    this.firstPendingAt = undefined;
    this.running = this.opts
      .run(triggers)
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
        if (this.pending.length > 0 && !this.stopped) this.arm();
      });
  }
}
