import { WatchQueue } from "../watch-queue.js";
import type { WatchEvent } from "../types.js";

/**
 * A WatchQueue that counts the events waiting for its consumer, so the hub can bound a slow
 * watcher's memory and pace a replay of history to the speed the consumer reads it.
 */
export class HubWatch extends WatchQueue {
  /** Events pushed and not yet handed to the consumer. */
  queued = 0;
  private ending = false;
  private drainWaiter: (() => void) | undefined;

  override push(batch: WatchEvent[]): void {
    if (this.isClosed || batch.length === 0) return;
    this.queued += batch.length;
    super.push(batch);
  }

  override fail(err: unknown): void {
    super.fail(err);
    this.wakeDrain();
  }

  override cancel(): void {
    super.cancel();
    this.queued = 0;
    this.wakeDrain();
  }

  /** End the watch after the consumer has taken what is already queued (the store is closing). */
  end(): void {
    if (this.queued === 0) this.cancel();
    else this.ending = true;
  }

  /** Resolves once the consumer has taken everything queued, or the watch is over. */
  drained(): Promise<void> {
    if (this.queued === 0 || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiter = resolve));
  }

  override async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent[]> {
    const inner = super[Symbol.asyncIterator]();
    try {
      while (true) {
        const next = await inner.next();
        if (next.done === true) return;
        this.queued -= next.value.length;
        if (this.queued === 0) {
          this.wakeDrain();
          if (this.ending) this.cancel();
        }
        yield next.value;
      }
    } finally {
      await inner.return?.();
    }
  }

  private wakeDrain(): void {
    const wake = this.drainWaiter;
    this.drainWaiter = undefined;
    wake?.();
  }
}
