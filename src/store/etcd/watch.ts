import type { IEvent, IWatchRequest, IWatchResponse } from "etcd3";
import { CompactedError, UnavailableError } from "../errors.js";
import type { WatchEvent } from "../types.js";
import { WatchQueue } from "../watch-queue.js";
import type { EtcdConnection } from "./connection.js";
import { num, revisionOf, toKeyValue } from "./convert.js";
import { classify, toGantryError } from "./rpc-errors.js";
import { disposeStream, type DuplexStream } from "./streams.js";

type Stream = DuplexStream<IWatchRequest, IWatchResponse>;

export interface WatchSpec {
  key: Buffer;
  range_end?: Buffer;
  /** 0: from now on. */
  startRevision: number;
  prevKv: boolean;
  /** Give up (UnavailableError) after failing to reconnect for this long. */
  giveUpMs: number;
  /** Told about compact revisions etcd reports. */
  onCompacted(rev: number): void;
  /** Called once when the watch ends, however it ends. */
  onEnd(): void;
}

/** Stop reading from etcd while this many events wait for the consumer; resume below LOW. */
const HIGH_WATER = 4096;
const LOW_WATER = 1024;

function toEvent(ev: IEvent): WatchEvent {
  const type = String(ev.type).toLowerCase() === "delete" ? "delete" : "put";
  const event: WatchEvent = { type, kv: toKeyValue(ev.kv) };
  if (ev.prev_kv !== null && ev.prev_kv !== undefined) event.prevKv = toKeyValue(ev.prev_kv);
  return event;
}

/**
 * One Store watch on its own etcd watch stream. It tracks the next revision it owes the
 * consumer, and when the stream breaks (a member stopped, lost its leader) it opens a new
 * one on the next member from exactly that revision, dropping anything already delivered;
 * when that revision has been compacted meanwhile the watch fails with CompactedError.
 */
export class EtcdWatch {
  readonly queue: WatchQueue;
  private readonly conn: EtcdConnection;
  private readonly spec: WatchSpec;
  /** The lowest revision not yet delivered (0 until etcd says where "now" is). */
  private nextRev: number;
  private stream: Stream | undefined;
  private index = 0;
  private stopped = false;
  private pause = 50;
  private failingSince: number | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private pushes = 0;

  constructor(conn: EtcdConnection, spec: WatchSpec) {
    this.conn = conn;
    this.spec = spec;
    this.nextRev = spec.startRevision;
    this.queue = new WatchQueue(() => this.stop());
    void this.connect();
  }

  /** End the watch with an error (after what is queued). */
  fail(err: unknown): void {
    this.queue.fail(err);
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    let picked;
    try {
      picked = this.conn.pick();
    } catch (err) {
      this.queue.fail(err);
      return;
    }
    this.index = picked.index;
    let stream: Stream;
    try {
      stream = (await picked.client.watchClient.watch(this.conn.streamOptions())) as Stream;
    } catch (err) {
      this.broken(err, undefined);
      return;
    }
    if (this.stopped) {
      disposeStream(stream);
      return;
    }
    this.stream = stream;
    stream.on("data", (res) => this.receive(res, stream));
    stream.on("error", (err) => this.broken(err, stream));
    stream.on("end", () => this.broken(new Error("etcd ended the watch stream"), stream));
    stream.write({
      create_request: {
        key: this.spec.key,
        range_end: this.spec.range_end,
        start_revision: this.nextRev > 0 ? this.nextRev : undefined,
        prev_kv: this.spec.prevKv,
        // Periodic "nothing new up to revision R" lets a resume start past quiet history.
        progress_notify: true,
      },
    });
  }

  private receive(res: IWatchResponse, stream: Stream): void {
    if (stream !== this.stream || this.stopped) return;
    if (res.canceled) {
      this.cancelled(res);
      return;
    }
    if (res.created) {
      this.failingSince = undefined;
      this.pause = 50;
      // Without a start revision etcd watches from its revision at creation + 1.
      if (this.nextRev === 0) this.nextRev = revisionOf(res.header) + 1;
      return;
    }
    const events = res.events ?? [];
    if (events.length === 0) {
      // A progress notification: every event up to the header's revision has been sent.
      this.nextRev = Math.max(this.nextRev, revisionOf(res.header) + 1);
      return;
    }
    // After a reconnect etcd may repeat what we already delivered; drop it.
    const batch: WatchEvent[] = [];
    for (const ev of events) {
      if (num(ev.kv.mod_revision) >= this.nextRev) batch.push(toEvent(ev));
    }
    if (batch.length === 0) return;
    this.nextRev = batch[batch.length - 1]!.kv.modRevision + 1;
    this.queue.push(batch);
    this.throttle(stream);
  }

  /** Stop reading while the consumer is far behind; etcd then buffers (or drops us, see above). */
  private throttle(stream: Stream): void {
    // backlog walks the queue; a look every 64 batches is enough.
    if (this.drainTimer !== undefined || ++this.pushes % 64 !== 0) return;
    if (this.queue.backlog < HIGH_WATER) return;
    stream.pause();
    this.drainTimer = setInterval(() => {
      if (this.queue.backlog > LOW_WATER && !this.queue.isClosed) return;
      clearInterval(this.drainTimer);
      this.drainTimer = undefined;
      if (stream === this.stream) stream.resume();
    }, 20);
  }

  private cancelled(res: IWatchResponse): void {
    const compactRev = num(res.compact_revision);
    if (compactRev > 0) {
      this.spec.onCompacted(compactRev);
      this.queue.fail(new CompactedError(this.nextRev, compactRev));
      return;
    }
    const reason = res.cancel_reason || "no reason given";
    if (reason.includes("no leader")) {
      this.broken(new Error(`etcdserver: no leader`), this.stream);
      return;
    }
    this.queue.fail(new UnavailableError(`etcd cancelled the watch: ${reason}`));
  }

  /** The stream failed: reconnect (on the next member) unless it has been failing too long. */
  private broken(err: unknown, stream: Stream | undefined): void {
    if (this.stopped || stream !== this.stream) return;
    if (stream !== undefined) disposeStream(stream);
    this.stream = undefined;
    const e = classify(err);
    if (e.kind === "closed" || this.conn.isClosed) {
      this.queue.fail(new UnavailableError("the etcd store is closed", err));
      return;
    }
    if (e.kind !== "not-sent" && e.kind !== "ambiguous" && e.kind !== "other") {
      this.queue.fail(toGantryError(e, this.conn.endpoints[this.index]!));
      return;
    }
    this.conn.failover(this.index);
    const now = Date.now();
    // A member that answers "no leader" is there, in a cluster without quorum: wait for quorum
    // to come back however long that takes (the watch then resumes where it was).
    if (e.details.includes("no leader")) this.failingSince = undefined;
    else this.failingSince ??= now;
    if (this.failingSince !== undefined && now - this.failingSince > this.spec.giveUpMs) {
      this.queue.fail(
        new UnavailableError(
          `the watch lost etcd and could not reconnect within ${this.spec.giveUpMs} ms: ${e.details}`,
          err,
        ),
      );
      return;
    }
    this.retryTimer = setTimeout(() => void this.connect(), this.pause);
    this.pause = Math.min(this.pause * 2, 1000);
  }

  /** The queue ended (consumer cancelled, failure, store closed): release everything. */
  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.drainTimer);
    if (this.stream !== undefined) disposeStream(this.stream);
    this.stream = undefined;
    this.spec.onEnd();
  }
}
