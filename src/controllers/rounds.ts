/**
 * Rounds that run one at a time: `mark()` asks for a round; marks made while one runs coalesce
 * into one more round after it, so a burst of events costs at most two rounds. A round that
 * throws is reported to `failed` (which usually schedules a retry); none starts once `stopped()`.
 * The pool controller and the notification sender share it.
 */
export interface RoundsOptions {
  round: () => Promise<void>;
  failed: (err: unknown) => void;
  stopped: () => boolean;
}

export class Rounds {
  private dirty = false;
  private working: Promise<void> | undefined;

  constructor(private readonly o: RoundsOptions) {}

  mark(): void {
    if (this.o.stopped()) return;
    this.dirty = true;
    this.working ??= this.drain().finally(() => {
      this.working = undefined;
      if (this.dirty && !this.o.stopped()) this.mark();
    });
  }

  /** Resolves once no round runs (for stop()). */
  async idle(): Promise<void> {
    await this.working;
  }

  private async drain(): Promise<void> {
    while (this.dirty && !this.o.stopped()) {
      this.dirty = false;
      try {
        await this.o.round();
      } catch (err) {
        if (this.o.stopped()) return;
        this.o.failed(err);
      }
    }
  }
}
