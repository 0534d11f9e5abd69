/**
 * The sender (leader only): delivers outbox entries. It reads the outbox when it changes and
 * when the earliest retry is due (a timer, not a poll); a delivered entry is deleted and the
 * hook's `lastDelivery` recorded, a failed one is tried again after a backoff, and dropped after
 * 20 attempts or a day with the failure recorded on the hook. An entry whose hook was removed is
 * dropped. Delivery is at least once: an attempt cut short by a leader change is made again.
 */
import { Rounds } from "../controllers/rounds.js";
import type { SecretBox } from "../apps/secrets.js";
import { K } from "../model/keys.js";
import {
  hookSecretContext,
  NotifyHookSchema,
  OutboxEntrySchema,
  type DeliveryNote,
  type NotifyHook,
  type OutboxEntry,
} from "../model/notify.js";
import { CompactedError, text, type KeyValue, type Store, type TxnOp } from "../store/index.js";
import { giveUp, retryDelayMs } from "./backoff.js";
import { deliver, type DeliveryResult } from "./deliver.js";

export interface SenderOptions {
  store: Store;
  box: SecretBox;
  log: (line: string) => void;
  now?: () => number;
  /** Deliveries in flight at once (default 8). */
  concurrency?: number;
  timeoutMs?: number;
  /** The backoff's random draw (tests). */
  random?: () => number;
}

export class Sender {
  private stopped = false;
  private readonly rounds = new Rounds({
    round: () => this.round(),
    failed: (err) => {
      this.opts.log(`notifications: ${err instanceof Error ? err.message : String(err)}`);
      this.wakeAt(this.now() + 1000);
    },
    stopped: () => this.stopped,
  });
  private cancel: (() => void) | undefined;
  private wake: { at: number; timer: ReturnType<typeof setTimeout> } | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Cuts deliveries in flight short on stop (a new leader makes them again). */
  private readonly abort = new AbortController();
  private readonly now: () => number;

  constructor(private readonly opts: SenderOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    void this.watchOutbox();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.cancel?.();
    if (this.wake !== undefined) clearTimeout(this.wake.timer);
    await this.rounds.idle();
    await Promise.all(this.inFlight.values());
  }

  private async watchOutbox(): Promise<void> {
    while (!this.stopped) {
      try {
        const from = (await this.opts.store.status()).revision + 1;
        const w = this.opts.store.watch({ prefix: K.notifyOutbox }, { startRevision: from });
        this.cancel = () => w.cancel();
        if (this.stopped) w.cancel();
        this.mark();
        for await (const _ of w) this.mark();
      } catch (err) {
        if (!this.stopped && !(err instanceof CompactedError))
          this.opts.log(`notifications: watching the outbox: ${String(err)}`);
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 500));
    }
  }

  private mark(): void {
    this.rounds.mark();
  }

  /** Start every due entry not already in flight; wake for the earliest one not due. */
  private async round(): Promise<void> {
    const res = await this.opts.store.range({ prefix: K.notifyOutbox });
    const now = this.now();
    let next: number | undefined;
    const limit = this.opts.concurrency ?? 8;
    for (const kv of res.kvs) {
      if (this.inFlight.has(kv.key)) continue;
      const entry = parseEntry(kv);
      if (entry === undefined) {
        await this.opts.store.delete(kv.key);
        continue;
      }
      const due = Date.parse(entry.nextAt);
      if (due > now || this.inFlight.size >= limit) {
        const at = due > now ? due : now + 100;
        next = next === undefined ? at : Math.min(next, at);
        continue;
      }
      const p = this.attempt(kv, entry)
        .catch((err: unknown) => {
          if (!this.stopped) this.opts.log(`notifications: ${kv.key}: ${String(err)}`);
          this.wakeAt(this.now() + 1000);
        })
        .finally(() => {
          this.inFlight.delete(kv.key);
          this.mark();
        });
      this.inFlight.set(kv.key, p);
    }
    if (next !== undefined) this.wakeAt(next);
  }

  private async attempt(kv: KeyValue, entry: OutboxEntry): Promise<void> {
    const store = this.opts.store;
    const hookKv = await store.get(entry.hook);
    const hook = hookKv === undefined ? undefined : parseHook(hookKv);
    if (hookKv === undefined || hook === undefined) {
      // Its hook was removed: nobody to tell.
      await store.txn({ compare: [same(kv)], success: [{ type: "delete", range: kv.key }] });
      return;
    }
    let result: DeliveryResult;
    try {
      const secret = this.opts.box.decrypt(hook.secret, hookSecretContext(hook.target, hook.id));
      result = await deliver(
        hook.url,
        secret,
        entry.payload,
        this.opts.timeoutMs,
        this.abort.signal,
      );
    } catch (err) {
      // A secret sealed with another data directory's key: retried with backoff like a failure
      // (a server with the right key may lead next), never in a tight loop.
      result = { ok: false, error: `the hook's secret cannot be opened: ${String(err)}` };
    }
    if (this.stopped && !result.ok) return; // a new leader tries again
    await this.settle(kv, entry, hookKv, result);
  }

  /** Record the attempt: delete the entry (delivered, or given up) or schedule the next try. */
  private async settle(
    kv: KeyValue,
    entry: OutboxEntry,
    hookKv: KeyValue,
    result: DeliveryResult,
  ): Promise<void> {
    const now = this.now();
    const attempts = entry.attempts + 1;
    const note: DeliveryNote = {
      at: new Date(now).toISOString(),
      event: entry.payload.event,
      attempts,
      ...(result.status === undefined ? {} : { status: result.status }),
    };
    let entryOp: TxnOp;
    let update: (h: NotifyHook) => NotifyHook;
    if (result.ok) {
      entryOp = { type: "delete", range: kv.key };
      update = (h) => ({ ...h, lastDelivery: note });
    } else {
      const error = result.error.slice(0, 500);
      const dropped = giveUp(attempts, Date.parse(entry.createdAt), now);
      const failure: DeliveryNote = { ...note, error, ...(dropped ? { gaveUp: true } : {}) };
      update = (h) => ({ ...h, lastError: failure });
      if (dropped) {
        entryOp = { type: "delete", range: kv.key };
        this.opts.log(
          `notifications: gave up on ${entry.payload.event} of ${entry.payload.app} for hook ${entry.hook} after ${attempts} attempts: ${error}`,
        );
      } else {
        const next: OutboxEntry = {
          ...entry,
          attempts,
          lastError: error,
          nextAt: new Date(
            now + retryDelayMs(attempts, (this.opts.random ?? Math.random)()),
          ).toISOString(),
        };
        entryOp = { type: "put", key: kv.key, value: JSON.stringify(next) };
      }
    }
    await recordOnHook(this.opts.store, kv, hookKv, entryOp, update);
  }

  private wakeAt(at: number): void {
    const cur = this.wake;
    if (cur !== undefined && cur.at <= at) return;
    if (cur !== undefined) clearTimeout(cur.timer);
    const timer = setTimeout(
      () => {
        this.wake = undefined;
        this.mark();
      },
      Math.max(0, at - this.now()) + 5,
    );
    timer.unref();
    this.wake = { at, timer };
  }
}

const same = (kv: KeyValue) =>
  ({ key: kv.key, target: "modRevision", op: "==", value: kv.modRevision }) as const;

/**
 * The entry's change and the hook's note in one transaction, guarded by both revisions; when the
 * hook changed meanwhile (another delivery's note), read it again; when it is gone, only the entry.
 */
export async function recordOnHook(
  store: Store,
  entryKv: KeyValue,
  hookKv: KeyValue,
  entryOp: TxnOp,
  update: (h: NotifyHook) => NotifyHook,
): Promise<void> {
  let hk: KeyValue | undefined = hookKv;
  for (let i = 0; i < 5; i++) {
    const hook = hk === undefined ? undefined : parseHook(hk);
    const res = await store.txn({
      compare: [
        same(entryKv),
        hk === undefined ? { key: hookKv.key, target: "version", op: "==", value: 0 } : same(hk),
      ],
      success:
        hk === undefined || hook === undefined
          ? [entryOp]
          : [entryOp, { type: "put", key: hk.key, value: JSON.stringify(update(hook)) }],
    });
    if (res.succeeded) return;
    const cur = await store.get(entryKv.key);
    if (cur === undefined || cur.modRevision !== entryKv.modRevision) return; // not ours any more
    hk = await store.get(hookKv.key);
  }
}

function parseEntry(kv: KeyValue): OutboxEntry | undefined {
  try {
    const r = OutboxEntrySchema.safeParse(JSON.parse(text(kv.value)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export function parseHook(kv: KeyValue): NotifyHook | undefined {
  try {
    const r = NotifyHookSchema.safeParse(JSON.parse(text(kv.value)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
