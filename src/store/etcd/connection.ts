import { InterceptingCall, type CallOptions, type Interceptor } from "@grpc/grpc-js";
import { Etcd3, type IOptions } from "etcd3";
import { UnavailableError } from "../errors.js";
import { classify, toGantryError, type RpcError } from "./rpc-errors.js";

export interface ConnectionOptions {
  endpoints: string[];
  /** How long open() waits for an endpoint to answer. */
  dialTimeoutMs: number;
  /** The time one operation may take, retries included. */
  requestTimeoutMs: number;
}

/** An etcd answer that the store maps with the request's context (revision, lease). */
export class RpcFailure extends Error {
  readonly rpc: RpcError;
  constructor(rpc: RpcError) {
    super(rpc.details, { cause: rpc.cause });
    this.rpc = rpc;
  }
}

/**
 * etcd's "require leader" header: a member without a leader refuses the call at once (for
 * streams: cancels them when it loses its leader) instead of hanging until a timeout, so we
 * fail over to a member that has one.
 */
const requireLeader: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set("hasleader", "true");
      next(metadata, listener);
    },
  });

type Policy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;

// etcd3's default policies retry any "recoverable" error, writes included, and open circuit
// breakers for five seconds; retries here are decided per request kind instead (see unary).
// Deadlines, not this signal, end calls: one signal that never aborts serves every call
// (an AbortController per call was a measurable share of a put's CPU).
const never = new AbortController().signal;
const passthrough = {
  execute: (fn: (ctx: { signal: AbortSignal }) => unknown) =>
    Promise.resolve().then(() => fn({ signal: never })),
} as unknown as Policy;

/** "http://h:p/" and "h:p" name the same member. */
const normUrl = (url: string): string => url.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");

/** DEADLINE_EXCEEDED, UNAVAILABLE. */
const FAILOVER_CODES = new Set([4, 14]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Set by a caller that stopped waiting for a request: it is not retried any more. */
export interface Token {
  stopped: boolean;
}

const isStopped = (token: Token | undefined): boolean => token?.stopped === true;

/**
 * The connection to an etcd cluster: one etcd3 client per endpoint and one of them pinned as
 * current (as etcd's own Go client does), moving on to the next when the current one fails
 * in a way that says the request never arrived.
 */
export class EtcdConnection {
  readonly endpoints: string[];
  readonly requestTimeoutMs: number;
  private readonly clients: Etcd3[];
  private readonly dialTimeoutMs: number;
  private current = 0;
  private closed = false;

  constructor(opts: ConnectionOptions) {
    this.endpoints = [...opts.endpoints];
    this.dialTimeoutMs = opts.dialTimeoutMs;
    this.requestTimeoutMs = opts.requestTimeoutMs;
    this.clients = opts.endpoints.map((hosts) => this.newClient(hosts));
  }

  private newClient(hosts: string): Etcd3 {
    return new Etcd3({
      hosts,
      grpcOptions: {
        // Ranges over many large values exceed gRPC's default 4 MiB.
        "grpc.max_receive_message_length": -1,
        "grpc.max_send_message_length": -1,
        // Reconnect within a second of a member coming back (grpc-js backs off to 120 s).
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1_000,
        // Notice a member that went away without closing its connections.
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
      },
      faultHandling: { global: passthrough, host: () => passthrough },
    });
  }

  /**
   * Learn members that joined since this connection was made (etcd's Go client's auto-sync):
   * each voting member's client URL that is not an endpoint yet becomes one, so losing the
   * members it was opened on does not cut it off from those that joined later. Members that
   * left stay listed; they fail fast and are skipped. Best effort: false when no member answered.
   */
  async syncMembers(timeoutMs = 1_000): Promise<boolean> {
    if (this.closed) return false;
    let members: { isLearner?: boolean; clientURLs?: string[] }[];
    try {
      members = (
        await this.unary((c, co) => c.cluster.memberList({}, co), { idempotent: true, timeoutMs })
      ).members;
    } catch {
      return false;
    }
    const known = new Set(this.endpoints.map(normUrl));
    for (const m of members) {
      const url = m.clientURLs?.[0];
      if (m.isLearner === true || url === undefined || known.has(normUrl(url))) continue;
      known.add(normUrl(url));
      this.endpoints.push(url);
      this.clients.push(this.newClient(url));
    }
    return true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The endpoint requests go to now. */
  get endpoint(): string {
    return this.endpoints[this.current]!;
  }

  /**
   * Call options for one attempt: the deadline and the require-leader header, which a read
   * served by the member alone (`local`: serializable, while quorum is lost) goes without.
   */
  callOptions(deadline: number, local = false): CallOptions {
    return local ? { deadline } : { deadline, interceptors: [requireLeader] };
  }

  /** Call options for a stream: no deadline, the require-leader header. */
  streamOptions(): CallOptions {
    return { interceptors: [requireLeader] };
  }

  /** Check that some endpoint answers and pin the first that does. */
  async open(): Promise<void> {
    const deadline = Date.now() + this.dialTimeoutMs;
    const attempts = this.clients.map(async (c, i) => {
      await c.maintenance.status({ deadline });
      return i;
    });
    try {
      this.current = await Promise.any(attempts);
    } catch (err) {
      const reasons = err instanceof AggregateError ? err.errors : [err];
      const why = classify(reasons[0]).details;
      this.close();
      throw new UnavailableError(`cannot reach etcd at ${this.endpoints.join(", ")}: ${why}`, err);
    }
  }

  /** Move off endpoint `from` (unless another caller already did). */
  failover(from: number): void {
    if (this.current === from && this.clients.length > 1) {
      this.current = (from + 1) % this.clients.length;
    }
  }

  /** The client for one endpoint (by its index in `endpoints`). */
  clientAt(index: number): Etcd3 {
    if (this.closed) throw new UnavailableError("the etcd store is closed");
    return this.clients[index]!;
  }

  /** The client requests go to now, and its index (for failover). */
  pick(): { client: Etcd3; index: number } {
    if (this.closed) throw new UnavailableError("the etcd store is closed");
    return { client: this.clients[this.current]!, index: this.current };
  }

  /**
   * Run one request, retrying it on the next member while that is safe: always when it
   * surely never arrived, and for reads (`idempotent`) also when the outcome is unknown.
   * Throws UnavailableError when time runs out or a write's outcome is unknown, RpcFailure
   * for etcd's answers about the request itself. `local`: a member-local (serializable) read,
   * without the require-leader header. Once `token.stopped` (the caller gave up on it, see
   * QuorumGuard), it is not tried again.
   */
  async unary<T>(
    run: (client: Etcd3, opts: CallOptions) => Promise<T>,
    opts: { idempotent: boolean; timeoutMs?: number; local?: boolean; token?: Token },
  ): Promise<T> {
    const deadline = Date.now() + (opts.timeoutMs ?? this.requestTimeoutMs);
    let pause = 10;
    for (;;) {
      if (isStopped(opts.token)) throw new UnavailableError("abandoned by its caller");
      const { client, index } = this.pick();
      try {
        return await run(client, this.callOptions(deadline, opts.local));
      } catch (err) {
        const e = classify(err);
        if (this.closed) throw new UnavailableError("the etcd store is closed", err);
        if (isStopped(opts.token)) throw new UnavailableError("abandoned by its caller", err);
        // Move on when the member refused, the connection is gone, or it did not answer in
        // time (stopped, cut off); the next request tries the next member.
        if (e.kind === "not-sent" || (e.kind === "ambiguous" && FAILOVER_CODES.has(e.code ?? -1))) {
          this.failover(index);
        }
        const retry = e.kind === "not-sent" || (e.kind === "ambiguous" && opts.idempotent);
        if (retry && Date.now() + pause < deadline) {
          await sleep(pause);
          pause = Math.min(pause * 2, 200);
          continue;
        }
        if (e.kind === "ambiguous" && !opts.idempotent) {
          throw new UnavailableError(
            `etcd at ${this.endpoints[index]} did not confirm the write, which may or may not have been applied: ${e.details}`,
            err,
          );
        }
        throw this.failure(e, index);
      }
    }
  }

  /** The error to throw for a failed request. */
  failure(e: RpcError, index: number): Error {
    if (e.kind === "compacted" || e.kind === "future-revision" || e.kind === "lease-not-found") {
      return new RpcFailure(e);
    }
    if (e.kind === "other") return e.cause instanceof Error ? e.cause : new RpcFailure(e);
    return toGantryError(e, this.endpoints[index]!);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.clients) c.close();
  }
}
