/** One queued write: the operation, and where its caller's answer goes. */
export interface Queued<O> {
  op: O;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  /** Set by the commit: the write failed alone (the others of the group still commit). */
  error?: unknown;
  result?: unknown;
}

/**
 * Group commit: writes submitted in the same turn of the event loop are applied in ONE SQLite
 * transaction — one fsync for all of them — each with its own revision, in arrival order. Their
 * promises settle only after that commit, so an acknowledged write is durable. The flush runs on
 * setImmediate: by then every client that was woken by the previous commit has queued its next
 * write, which is what lets 64 concurrent clients share a transaction.
 */
export class GroupCommit<O> {
  private queue: Queued<O>[] = [];
  private scheduled = false;

  /**
   * `commit` applies the batch in one transaction and fills in each write's result or error; it
   * throws when the transaction as a whole failed (then every write of the batch fails).
   */
  constructor(private readonly commit: (batch: Queued<O>[]) => void) {}

  /** Queue a write; resolves with its result after the commit that holds it. */
  submit<T>(op: O): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Commit everything queued now (also used by close). */
  readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    try {
      this.commit(batch);
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    for (const q of batch) {
      if (q.error !== undefined) q.reject(q.error);
      else q.resolve(q.result);
    }
  };
}
