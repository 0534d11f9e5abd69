/**
 * One stack sync at a time. A sync asked for while another runs waits in a single slot; a newer
 * request takes the slot and the one it pushes out is told it was superseded (never two
 * waiting: a commit that is already behind need not be applied on the way to the newest).
 * Every sync has a deadline: past it the sync's signal aborts and its outcome is a failure that
 * says so — the next waits until the late one has actually stopped, so two never overlap.
 */
import { formatDuration } from "../model/duration.js";

export type SyncOutcome<R> =
  | { status: "done"; result: R }
  | { status: "failed"; error: string }
  | { status: "superseded"; by: string }
  | { status: "timeout"; error: string };

export interface SyncJob<R> {
  /** What the job syncs, for messages: `commit 1a2b3c4` or `drift correction`. */
  label: string;
  run(signal: AbortSignal): Promise<R>;
  /** Called when the job starts running (after waiting, if it waited). */
  started?(): void;
}

interface Waiting<R> {
  job: SyncJob<R>;
  resolve(o: SyncOutcome<R>): void;
}

export class SyncQueue<R> {
  private running: Promise<void> | undefined;
  private waiting: Waiting<R> | undefined;
  private readonly stopped = new AbortController();

  constructor(private readonly deadlineMs: number) {}

  /** Whether a sync runs or waits now. */
  busy(): boolean {
    return this.running !== undefined;
  }

  /** Run `job` as soon as the running sync (if any) is over, unless a newer job supersedes it. */
  submit(job: SyncJob<R>): Promise<SyncOutcome<R>> {
    return new Promise((resolve) => {
      if (this.stopped.signal.aborted) {
        resolve({ status: "failed", error: "the server is stopping" });
        return;
      }
      if (this.running === undefined) {
        this.start({ job, resolve });
        return;
      }
      const pushedOut = this.waiting;
      this.waiting = { job, resolve };
      pushedOut?.resolve({ status: "superseded", by: job.label });
    });
  }

  /**
   * Offer a job that only makes sense when nothing else is queued (a drift correction): it is
   * dropped (resolved superseded) when a sync waits already, and replaced by any later submit.
   */
  offer(job: SyncJob<R>): Promise<SyncOutcome<R>> {
    if (this.waiting !== undefined) {
      return Promise.resolve({ status: "superseded", by: this.waiting.job.label });
    }
    return this.submit(job);
  }

  /** Abort the running sync, drop the waiting one, and wait until nothing runs. */
  async stop(): Promise<void> {
    this.stopped.abort();
    this.waiting?.resolve({ status: "failed", error: "the server is stopping" });
    this.waiting = undefined;
    await this.running;
  }

  private start(w: Waiting<R>): void {
    this.running = this.execute(w).finally(() => {
      const next = this.waiting;
      this.waiting = undefined;
      this.running = undefined;
      if (next !== undefined) this.start(next);
    });
  }

  private async execute({ job, resolve }: Waiting<R>): Promise<void> {
    const deadline = new AbortController();
    const signal = AbortSignal.any([deadline.signal, this.stopped.signal]);
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      deadline.abort();
      // Said at the deadline, not when the late sync finally stops.
      resolve({
        status: "timeout",
        error: `${job.label}: the sync passed its deadline of ${formatDuration(this.deadlineMs)} and was stopped`,
      });
    }, this.deadlineMs);
    try {
      job.started?.();
      const result = await job.run(signal);
      if (!late) resolve({ status: "done", result });
    } catch (err) {
      if (!late)
        resolve({ status: "failed", error: err instanceof Error ? err.message : String(err) });
    } finally {
      clearTimeout(timer);
    }
  }
}
