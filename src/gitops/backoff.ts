/**
 * Backoff for drift corrections, per item: 1 s, 2 s, 4 s … capped at 5 min. A correction that
 * holds (the item stays in sync for twice its window) resets it, so one hand edit is corrected
 * at once, while another writer that keeps changing the item gets exponentially fewer
 * corrections instead of a tight loop of its writes and ours.
 */
export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 5 * 60_000;

interface State {
  attempts: number;
  /** When the last correction was made. */
  last: number;
  /** How long after `last` the next may be made. */
  delay: number;
}

export class Backoff {
  private readonly items = new Map<string, State>();

  constructor(
    private readonly baseMs = BACKOFF_BASE_MS,
    private readonly capMs = BACKOFF_CAP_MS,
  ) {}

  /** Whether `key` may be corrected at `now`. */
  due(key: string, now: number): boolean {
    const s = this.live(key, now);
    return s === undefined || now >= s.last + s.delay;
  }

  /** When `key` may be corrected next (`now` or later). */
  dueAt(key: string, now: number): number {
    const s = this.live(key, now);
    return s === undefined ? now : Math.max(now, s.last + s.delay);
  }

  /** Record a correction of `key` at `now`: the next waits twice as long as this one did. */
  corrected(key: string, now: number): void {
    const attempts = (this.live(key, now)?.attempts ?? 0) + 1;
    const delay = Math.min(this.capMs, this.baseMs * 2 ** (attempts - 1));
    this.items.set(key, { attempts, last: now, delay });
  }

  /** How many corrections in a row `key` had (0 once they held). */
  attempts(key: string, now: number): number {
    return this.live(key, now)?.attempts ?? 0;
  }

  /** The state of `key`, forgotten once its last correction held for twice its window. */
  private live(key: string, now: number): State | undefined {
    const s = this.items.get(key);
    if (s !== undefined && now - s.last > 2 * s.delay) {
      this.items.delete(key);
      return undefined;
    }
    return s;
  }
}
