import type { ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from "etcd3";
import { UnavailableError } from "../errors.js";
import type { EtcdConnection } from "./connection.js";
import { num } from "./convert.js";
import { classify, toGantryError } from "./rpc-errors.js";
import { disposeStream, type DuplexStream } from "./streams.js";

type Stream = DuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

interface Waiter {
  resolve(ttl: number): void;
  reject(err: unknown): void;
}

/** The stream broke under a waiting refresh; it may be retried on a new stream. */
class StreamBroken extends Error {
  readonly reason: unknown;
  constructor(reason: unknown) {
    super("lease keep-alive stream broke");
    this.reason = reason;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * etcd refreshes leases only over a bidirectional stream. One stream per store carries every
 * refresh; etcd answers each request in order, so waiters queue per lease id.
 */
export class KeepAliveStream {
  private readonly conn: EtcdConnection;
  private stream: Promise<{ stream: Stream; index: number }> | undefined;
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(conn: EtcdConnection) {
    this.conn = conn;
  }

  /** Refresh a lease; resolves with etcd's TTL (0 or less: the lease is gone). */
  async refresh(id: string): Promise<number> {
    const deadline = Date.now() + this.conn.requestTimeoutMs;
    let pause = 10;
    for (;;) {
      try {
        return await this.once(id, deadline);
      } catch (err) {
        if (!(err instanceof StreamBroken)) throw err;
        const e = classify(err.reason);
        if (this.conn.isClosed) throw new UnavailableError("the etcd store is closed", err.reason);
        // A refresh is idempotent: retry on a new stream while there is time.
        const transient = e.kind === "not-sent" || e.kind === "ambiguous" || e.kind === "other";
        if (!transient) throw toGantryError(e, this.conn.endpoint);
        if (Date.now() + pause >= deadline) {
          throw new UnavailableError(
            `etcd at ${this.conn.endpoint} is unavailable: ${e.details}`,
            err.reason,
          );
        }
        await sleep(pause);
        pause = Math.min(pause * 2, 200);
      }
    }
  }

  private async once(id: string, deadline: number): Promise<number> {
    let opened;
    try {
      opened = await this.open();
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      throw new StreamBroken(err);
    }
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          const list = this.waiters.get(id);
          const i = list?.indexOf(waiter) ?? -1;
          if (i >= 0) list!.splice(i, 1);
          // No answer in time: the stream is probably stuck on an unreachable member.
          this.broken(
            opened.stream,
            new Error("4 DEADLINE_EXCEEDED: no keep-alive answer in time"),
          );
          reject(
            new UnavailableError(
              `etcd at ${this.conn.endpoint} did not answer a lease keep-alive in time`,
            ),
          );
        },
        Math.max(1, deadline - Date.now()),
      );
      const waiter: Waiter = {
        resolve: (ttl) => {
          clearTimeout(timer);
          resolve(ttl);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const list = this.waiters.get(id);
      if (list === undefined) this.waiters.set(id, [waiter]);
      else list.push(waiter);
      opened.stream.write({ ID: id });
    });
  }

  private open(): Promise<{ stream: Stream; index: number }> {
    this.stream ??= (async () => {
      const { client, index } = this.conn.pick();
      const stream = (await client.leaseClient.leaseKeepAlive(this.conn.streamOptions())) as Stream;
      stream.on("data", (res) => this.receive(res));
      stream.on("error", (err) => this.broken(stream, err));
      stream.on("end", () => this.broken(stream, new Error("etcd ended the keep-alive stream")));
      return { stream, index };
    })();
    const opening = this.stream;
    // A failed open must not stick: the next refresh tries again.
    opening.catch(() => {
      if (this.stream === opening) this.stream = undefined;
    });
    return opening;
  }

  private receive(res: ILeaseKeepAliveResponse): void {
    const id = String(res.ID);
    const list = this.waiters.get(id);
    const waiter = list?.shift();
    if (list !== undefined && list.length === 0) this.waiters.delete(id);
    waiter?.resolve(num(res.TTL));
  }

  /** The stream failed: forget it, move off its member, and let the waiters retry. */
  private broken(stream: Stream, err: unknown): void {
    const current = this.stream;
    if (current === undefined) return;
    void current.then(
      (opened) => {
        if (opened.stream !== stream || this.stream !== current) return;
        this.stream = undefined;
        disposeStream(stream);
        const e = classify(err);
        if (e.kind === "not-sent" || e.kind === "ambiguous") this.conn.failover(opened.index);
        const waiting = [...this.waiters.values()].flat();
        this.waiters.clear();
        for (const w of waiting) w.reject(new StreamBroken(err));
      },
      () => undefined,
    );
  }

  close(): void {
    const current = this.stream;
    this.stream = undefined;
    void current?.then(
      (opened) => disposeStream(opened.stream),
      () => undefined,
    );
    const waiting = [...this.waiters.values()].flat();
    this.waiters.clear();
    for (const w of waiting) w.reject(new UnavailableError("the etcd store is closed"));
  }
}
