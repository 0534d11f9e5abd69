/**
 * The notifier (leader only): turns changes of deploys/, builds/ and releases/ into outbox
 * entries, from the revision its cursor (`sys/notify/cursor`) names, so a new leader resumes
 * where the last one stopped. The entries of one revision and the cursor's advance to it are one
 * transaction guarded by the cursor's own revision: nothing is written twice, even by two
 * leaders for a moment, and nothing is skipped. History compacted before it was read is lost:
 * the notifier resyncs from now and says so (in the log and on the cursor).
 */
import { K } from "../model/keys.js";
import {
  NotifyCursorSchema,
  OutboxEntrySchema,
  outboxKey,
  type NotifyCursor,
  type OutboxEntry,
} from "../model/notify.js";
import { CompactedError, text, type Store, type TxnOp, type WatchEvent } from "../store/index.js";
import { deriveEvents, isWatchedKey, toPayload, type DerivedEvent } from "./derive.js";
import { hooksFor } from "./route.js";

export interface OutboxWriterOptions {
  store: Store;
  log: (line: string) => void;
  appUrl?: (app: string) => string | undefined;
  now?: () => number;
  /** Write the cursor this long after the last change it may skip over (ms; default 10 s). */
  idleCursorMs?: number;
}

/** One range covering deploys/, builds/ and releases/: one watch, one order of revisions. */
const RANGE = { key: K.builds, end: "releases0" };

/** The cursor could not be advanced: another notifier moved it. Read it again. */
class CursorMoved extends Error {}

export class OutboxWriter {
  private stopped = false;
  private cancel: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** The cursor's modRevision as this notifier last wrote or read it. */
  private cursorRev = 0;
  private idle: { revision: number; timer: ReturnType<typeof setTimeout> } | undefined;
  private readonly now: () => number;
  private writes: Promise<void> = Promise.resolve();
  /** The revision the cursor was last advanced to by this notifier. */
  private written = 0;

  constructor(private readonly opts: OutboxWriterOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    if (this.idle !== undefined) clearTimeout(this.idle.timer);
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const from = await this.readCursor();
        await this.follow(from);
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof CompactedError) await this.resync().catch(() => undefined);
        else if (!(err instanceof CursorMoved))
          this.opts.log(
            `notifier: ${err instanceof Error ? err.message : String(err)}; again in 1 s`,
          );
        await new Promise((r) => setTimeout(r, err instanceof CompactedError ? 0 : 1000));
      }
    }
  }

  /** The revision to resume after; a first start begins at the store's current revision. */
  private async readCursor(): Promise<number> {
    const kv = await this.opts.store.get(K.notifyCursor);
    if (kv !== undefined) {
      this.cursorRev = kv.modRevision;
      return NotifyCursorSchema.parse(JSON.parse(text(kv.value))).revision;
    }
    const { revision } = await this.opts.store.status();
    await this.writeCursor({ revision, updatedAt: this.iso() }, []);
    return revision;
  }

  private async resync(): Promise<void> {
    const { revision } = await this.opts.store.status();
    const kv = await this.opts.store.get(K.notifyCursor);
    this.cursorRev = kv?.modRevision ?? 0;
    this.opts.log(
      `notifier: the store's history before revision ${revision} was compacted before it was read; events until then are not notified (resuming from now)`,
    );
    await this.writeCursor({ revision, updatedAt: this.iso(), resyncedAt: this.iso() }, []);
  }

  private async follow(from: number): Promise<void> {
    const watch = this.opts.store.watch(RANGE, { startRevision: from + 1, prevKv: true });
    this.cancel = () => watch.cancel();
    if (this.stopped) watch.cancel();
    for await (const batch of watch) {
      // A batch holds whole revisions, possibly several (a replay): one transaction each.
      for (const events of byRevision(batch)) {
        if (this.stopped) return;
        await this.handle(events);
      }
    }
    if (!this.stopped) throw new Error("the watch ended");
  }

  /** One revision's changes (all events of `batch` share it): its events' outbox entries and the cursor, in one transaction. */
  private async handle(batch: WatchEvent[]): Promise<void> {
    const revision = batch[0]!.kv.modRevision;
    const at = this.iso();
    const events: DerivedEvent[] = [];
    for (const e of batch) {
      if (!isWatchedKey(e.kv.key)) continue;
      const prev = e.prevKv === undefined ? undefined : text(e.prevKv.value);
      const cur = e.type === "delete" ? undefined : text(e.kv.value);
      events.push(
        ...deriveEvents(e.kv.key, prev, cur, {
          now: at,
          ...(this.opts.appUrl ? { appUrl: this.opts.appUrl } : {}),
        }),
      );
    }
    if (events.length === 0) return this.idleAdvance(revision);
    const puts: TxnOp[] = [];
    for (const e of events) {
      const { pipeline, hooks } = await hooksFor(this.opts.store, e.app);
      const payload = toPayload(e, pipeline);
      for (const h of hooks) {
        if (!h.hook.events.includes(e.event as never)) continue;
        const entry: OutboxEntry = OutboxEntrySchema.parse({
          hook: h.key,
          payload,
          attempts: 0,
          createdAt: at,
          nextAt: at,
        });
        puts.push({
          type: "put",
          key: outboxKey(this.now(), revision, puts.length),
          value: JSON.stringify(entry),
        });
      }
    }
    if (this.idle !== undefined) clearTimeout(this.idle.timer);
    this.idle = undefined;
    await this.writeCursor({ revision, updatedAt: at }, puts);
  }

  /** A revision with nothing to tell: advance the cursor a little later, once for many. */
  private idleAdvance(revision: number): void {
    if (this.idle !== undefined) {
      this.idle.revision = revision;
      return;
    }
    const timer = setTimeout(() => {
      const r = this.idle?.revision ?? revision;
      this.idle = undefined;
      this.writeCursor({ revision: r, updatedAt: this.iso() }, []).catch((err: unknown) => {
        // Moved by another notifier, or the store is away: the next event's write tells.
        if (!(err instanceof CursorMoved) && !this.stopped)
          this.opts.log(`notifier: advancing the cursor: ${String(err)}`);
      });
    }, this.opts.idleCursorMs ?? 10_000);
    timer.unref();
    this.idle = { revision, timer };
  }

  /** Cursor writes in the order they were asked for (an idle advance may race an event's). */
  private writeCursor(cursor: NotifyCursor, puts: TxnOp[]): Promise<void> {
    const p = this.writes.then(() => this.putCursor(cursor, puts));
    this.writes = p.catch(() => undefined);
    return p;
  }

  private async putCursor(cursor: NotifyCursor, puts: TxnOp[]): Promise<void> {
    if (cursor.revision < this.written && puts.length === 0) return;
    const res = await this.opts.store.txn({
      compare: [{ key: K.notifyCursor, target: "modRevision", op: "==", value: this.cursorRev }],
      success: [...puts, { type: "put", key: K.notifyCursor, value: JSON.stringify(cursor) }],
    });
    if (!res.succeeded) {
      this.cancel?.();
      throw new CursorMoved("the notifier's cursor was moved by another notifier");
    }
    this.cursorRev = res.revision;
    this.written = cursor.revision;
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}

/** The events of a batch grouped by revision, in order. */
export function byRevision(batch: readonly WatchEvent[]): WatchEvent[][] {
  const out: WatchEvent[][] = [];
  for (const e of batch) {
    const last = out.at(-1);
    if (last !== undefined && last[0]!.kv.modRevision === e.kv.modRevision) last.push(e);
    else out.push([e]);
  }
  return out;
}
