import type { Watch, WatchEvent } from "./types.js";

/**
 * The consumer side of a watch, shared by both backends: producers push batches (or fail or
 * end it), the consumer iterates with `for await`. Batches queue without bound while the
 * consumer is slow; the backends keep that in check by cancelling watchers that fall too far
 * behind (they then see CompactedError or UnavailableError and resume from their revision).
 */
export class WatchQueue implements Watch {
  private readonly batches: WatchEvent[][] = [];
  private error: unknown = undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly onCancel: () => void;

  constructor(onCancel: () => void) {
    this.onCancel = onCancel;
  }

  /** Events queued and not yet taken by the consumer. */
  get backlog(): number {
    let n = 0;
    for (const b of this.batches) n += b.length;
    return n;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(batch: WatchEvent[]): void {
    if (this.closed || batch.length === 0) return;
    this.batches.push(batch);
    this.notify();
  }

  /** End the watch with an error, delivered after the batches already queued. */
  fail(err: unknown): void {
    if (this.closed) return;
    this.error = err;
    this.closed = true;
    this.onCancel();
    this.notify();
  }

  cancel(): void {
    if (this.closed) return;
    this.closed = true;
    this.batches.length = 0;
    this.onCancel();
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent[]> {
    try {
      while (true) {
        const batch = this.batches.shift();
        if (batch !== undefined) {
          yield batch;
          continue;
        }
        if (this.closed) {
          if (this.error !== undefined) {
            const err = this.error;
            this.error = undefined;
            throw err;
          }
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // Leaving the loop early (break, return, throw in the body) cancels the watch.
      if (!this.closed) this.cancel();
    }
  }
}
