import { CompactedError, UnavailableError } from "../errors.js";
import { inRange, type ByteRange } from "../keys.js";
import type { KeyValue, Watch, WatchEvent } from "../types.js";
import { HubWatch } from "./hub-watch.js";
import { kvFromRaw, leaseId, tombstoneKv, type HubEvent } from "./rows.js";
import type { Revisions } from "./reads.js";
import type { LogRow, RangeParams, Statements } from "./statements.js";

/**
 * A watcher whose undelivered events exceed this bound is failed with UnavailableError (and
 * resumes from its last revision), so one stuck consumer cannot grow the server without limit.
 */
export const MAX_WATCH_BACKLOG = 100_000;

/** Log rows read per step of a replay. */
const REPLAY_PAGE = 1000;

interface Watcher {
  range: ByteRange;
  prevKv: boolean;
  /** Live events below this revision are not for this watcher. */
  minRev: number;
  queue: HubWatch;
  /** Live events held back while history is replayed; undefined once live. */
  held: WatchEvent[] | undefined;
}

/**
 * Fans committed events out to watchers straight from memory (no re-read), and replays history
 * from the log for watchers that start in the past. A replaying watcher is registered first and
 * holds live events; the replay reads the log up to the revision current at registration, then
 * releases what it held — so nothing is missed or delivered twice.
 */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  /** How many watchers want prevKv: writers only read old values when someone needs them. */
  prevKvWatchers = 0;
  private readonly params: RangeParams = {
    start: Buffer.alloc(0),
    end: Buffer.alloc(0),
    rev: 0,
    sub: 0,
    to: 0,
    limit: REPLAY_PAGE,
  };

  constructor(
    private readonly st: Statements,
    private readonly revs: Revisions,
    private readonly closed: () => boolean,
  ) {}

  /** True when anyone is watching: writers skip building events otherwise. */
  get active(): boolean {
    return this.watchers.size > 0;
  }

  /** Start a watch; `startRevision` 0 means "from the next revision". */
  watch(range: ByteRange, startRevision: number, prevKv: boolean): Watch {
    const w: Watcher = {
      range,
      prevKv,
      minRev: startRevision === 0 ? this.revs.rev + 1 : startRevision,
      queue: new HubWatch(() => this.remove(w)),
      held: undefined,
    };
    if (this.closed()) {
      w.queue.fail(new UnavailableError("the store is closed"));
      return w.queue;
    }
    if (startRevision !== 0 && startRevision < this.revs.compactRev) {
      w.queue.fail(new CompactedError(startRevision, this.revs.compactRev));
      return w.queue;
    }
    this.watchers.add(w);
    if (prevKv) this.prevKvWatchers++;
    if (w.minRev <= this.revs.rev) {
      w.held = [];
      void this.replay(w, this.revs.rev);
    }
    return w.queue;
  }

  /** Deliver the events of one commit. */
  dispatch(events: HubEvent[]): void {
    for (const w of this.watchers) {
      let batch: WatchEvent[] | undefined;
      for (const e of events) {
        if (e.rev < w.minRev || !inRange(e.key, w.range)) continue;
        (batch ??= []).push(w.prevKv ? e.full : e.bare);
      }
      if (batch === undefined) continue;
      if (w.held !== undefined) {
        for (const e of batch) w.held.push(e);
      } else {
        w.queue.push(batch);
      }
      this.checkBacklog(w);
    }
  }

  /** End every watch (the store is closing); events already queued are still delivered. */
  endAll(): void {
    for (const w of [...this.watchers]) {
      this.remove(w);
      w.queue.end();
    }
  }

  private remove(w: Watcher): void {
    if (this.watchers.delete(w) && w.prevKv) this.prevKvWatchers--;
  }

  private checkBacklog(w: Watcher): void {
    const backlog = w.queue.queued + (w.held?.length ?? 0);
    if (backlog <= MAX_WATCH_BACKLOG) return;
    w.queue.fail(
      new UnavailableError(
        `the watcher fell more than ${MAX_WATCH_BACKLOG} events behind; ` +
          "resume it from the last revision it saw",
      ),
    );
  }

  /**
   * Replay the log from w.minRev up to `to`, one page at a time, waiting for the consumer to
   * take each page. The first page runs synchronously, so short replays finish before watch()
   * returns. A revision's events never straddle two batches.
   */
  private async replay(w: Watcher, to: number): Promise<void> {
    const stmt = this.st.range(w.range).history;
    let rev = w.minRev;
    let sub = -1;
    let carry: WatchEvent[] = [];
    let carryRev = 0;
    while (true) {
      if (w.queue.isClosed || this.closed()) return;
      // Compaction may have removed rows we have not read yet: the consumer must start over.
      if (rev < this.revs.compactRev) {
        w.queue.fail(new CompactedError(rev, this.revs.compactRev));
        return;
      }
      const p = this.params;
      p.start = w.range.start;
      p.end = w.range.end ?? w.range.start;
      p.rev = rev;
      p.sub = sub;
      p.to = to;
      const rows = stmt.all(p) as LogRow[];
      const batch: WatchEvent[] = [];
      for (const row of rows) {
        if (row.rev !== carryRev) {
          for (const e of carry) batch.push(e);
          carry = [];
          carryRev = row.rev;
        }
        carry.push(this.eventFromLog(row, w.prevKv));
      }
      const done = rows.length < REPLAY_PAGE;
      if (done) for (const e of carry) batch.push(e);
      w.queue.push(batch);
      if (done) break;
      const last = rows[rows.length - 1]!;
      rev = last.rev;
      sub = last.sub;
      await w.queue.drained();
    }
    const held = w.held ?? [];
    w.held = undefined;
    w.queue.push(held);
  }

  private eventFromLog(row: LogRow, withPrev: boolean): WatchEvent {
    const key = row.keyStr;
    const kv: KeyValue = row.deleted
      ? tombstoneKv(key, row.rev)
      : {
          key,
          value: row.value,
          createRevision: row.create_rev,
          modRevision: row.rev,
          version: row.version,
          lease: leaseId(row.lease),
        };
    const type = row.deleted ? "delete" : "put";
    if (!withPrev || row.prev_rev === 0) return { type, kv };
    const prev = this.st.liveLogAt.get(row.key, row.prev_rev);
    return prev === undefined ? { type, kv } : { type, kv, prevKv: kvFromRaw(prev) };
  }
}
