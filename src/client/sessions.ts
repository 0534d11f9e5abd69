/**
 * Sessions and locks from the client side: create a session, keep it alive, acquire and release
 * lock keys with it (waiting with blocking reads, not polling), destroy it.
 *
 * Wire contract (docs/api.md, "Sessions and locks"): PUT /v1/kv/KEY?acquire=ID answers 200
 * `{ok: true, acquired: true}` or 409 `lock_held`; ?release=ID answers 200 or 409
 * `not_lock_holder`; a session that has expired answers 404 `session_not_found`.
 */
import { GantryError } from "../errors.js";
import { encodeKey, type ApiKeyValue, type GantryClient } from "./client.js";
import { ApiError, ConnectError } from "./errors.js";

export type SessionBehavior = "release" | "delete";

export interface SessionInfo {
  id: string;
  name: string;
  /** e.g. "15s". */
  ttl: string;
  behavior: SessionBehavior;
  lease: string;
  createdAt: string;
  createdBy: string;
  /** Seconds until it expires (GET and renew only). */
  expiresIn?: number;
  /** Lock keys it holds (GET only). */
  locks?: string[];
}

export interface SessionOptions {
  name?: string;
  /** A duration, "15s" by default; between 1s and 24h. */
  ttl?: string;
  /** What destroying the session does to its locks: keep the keys unheld, or delete them. */
  behavior?: SessionBehavior;
}

/** The session expired or was destroyed on the server, or could not be renewed within its TTL. */
export class SessionLostError extends GantryError {
  constructor(id: string, why: string) {
    super("session_lost", `session ${id} was lost: ${why}`, { status: 409 });
  }
}

export function createSession(
  client: GantryClient,
  opts: SessionOptions = {},
): Promise<SessionInfo> {
  return client.json("POST", "/v1/sessions", { body: opts });
}

export function renewSession(
  client: GantryClient,
  id: string,
  signal?: AbortSignal,
): Promise<SessionInfo> {
  return client.json("PUT", `/v1/sessions/${id}/renew`, signal ? { signal } : {});
}

/** Destroy a session; its locks are freed. Returns the lock keys released or deleted. */
export function destroySession(
  client: GantryClient,
  id: string,
): Promise<{ released: string[]; deleted: string[] }> {
  return client.json("DELETE", `/v1/sessions/${id}`);
}

export async function getSession(
  client: GantryClient,
  id: string,
): Promise<SessionInfo | undefined> {
  try {
    return await client.json<SessionInfo>("GET", `/v1/sessions/${id}`);
  } catch (err) {
    if (err instanceof ApiError && err.code === "session_not_found") return undefined;
    throw err;
  }
}

export function listSessions(client: GantryClient): Promise<SessionInfo[]> {
  return client.json("GET", "/v1/sessions");
}

/** One attempt: true when `session` now holds `key`, false when another session does. */
export async function tryAcquire(
  client: GantryClient,
  key: string,
  session: string,
  value: Uint8Array | string = "",
): Promise<boolean> {
  try {
    await client.request("PUT", `/v1/kv/${encodeKey(key)}`, {
      raw: value,
      query: { acquire: session },
    });
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.code === "lock_held") return false;
    throw err;
  }
}

/** Release `key` held by `session` (it stays, unheld; `value` replaces its value when given). */
export async function releaseLock(
  client: GantryClient,
  key: string,
  session: string,
  value?: Uint8Array | string,
): Promise<void> {
  await client.request("PUT", `/v1/kv/${encodeKey(key)}`, {
    raw: value ?? "",
    query: { release: session },
  });
}

/**
 * Read one key through a recursive read (which answers 200 and the store's index even when the
 * key is absent), optionally blocking until something changes after `index`.
 */
export async function readLockKey(
  client: GantryClient,
  key: string,
  opts: { index?: number; waitMs?: number; signal?: AbortSignal } = {},
): Promise<{ kv: ApiKeyValue | undefined; index: number }> {
  const res = await client.request("GET", `/v1/kv/${encodeKey(key)}`, {
    query: {
      recurse: true,
      index: opts.index,
      wait: opts.waitMs === undefined ? undefined : `${Math.max(1, Math.ceil(opts.waitMs))}ms`,
    },
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const index = Number(res.headers.get("x-gantry-index") ?? "0");
  const list = (await res.json()) as ApiKeyValue[];
  return { kv: list.find((e) => e.key === key), index };
}

/** True while a key is held by some session (attached to a lease). */
export const isHeld = (kv: ApiKeyValue | undefined): kv is ApiKeyValue =>
  kv !== undefined && kv.lease !== "0";

export interface AcquireOptions {
  /** Give up after this long (resolve false); default: wait as long as it takes. 0: one attempt. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called once, with the current holder, when the lock is taken and we start waiting. */
  onWait?: (holder: ApiKeyValue) => void;
}

export interface LiveSessionOptions extends SessionOptions {
  /** Called once if the session is lost (expired, destroyed elsewhere, or unrenewable for a TTL). */
  onLost?: (err: SessionLostError) => void;
  /** Swappable clock for tests (milliseconds). */
  now?: () => number;
}

/** Longest single blocking read; the loop simply reads again. */
const MAX_BLOCK_MS = 60_000;

/**
 * A session kept alive by this process: renewed every ttl/3. If a renewal says the session is
 * gone, or none succeeds for a whole TTL (the server may have expired it by then), the session
 * is declared lost: `onLost` runs, `signal` aborts, and lock operations throw SessionLostError.
 */
export class Session {
  readonly id: string;
  readonly ttlMs: number;
  private readonly ended = new AbortController();
  private lostError: SessionLostError | undefined;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly now: () => number;

  private constructor(
    private readonly client: GantryClient,
    readonly info: SessionInfo,
    private readonly onLost: ((err: SessionLostError) => void) | undefined,
    now: (() => number) | undefined,
  ) {
    this.id = info.id;
    this.ttlMs = Number(/^(\d+)s$/.exec(info.ttl)?.[1] ?? "15") * 1000;
    this.now = now ?? (() => performance.now());
  }

  /** Create a session on the server and start keeping it alive. */
  static async create(client: GantryClient, opts: LiveSessionOptions = {}): Promise<Session> {
    const { onLost, now, ...wire } = opts;
    const startedAt = (now ?? (() => performance.now()))();
    const session = new Session(client, await createSession(client, wire), onLost, now);
    session.armExpiry(startedAt);
    session.scheduleRenew(session.ttlMs / 3);
    return session;
  }

  /** Aborted when the session ends: lost, or destroyed by this process. */
  get signal(): AbortSignal {
    return this.ended.signal;
  }

  /** The loss, once the session is lost. */
  get lost(): SessionLostError | undefined {
    return this.lostError;
  }

  /**
   * Acquire `key` with `value`, waiting while another session holds it (blocking reads on the
   * key, woken by its release or expiry). Resolves true when held, false on timeout.
   */
  async acquire(
    key: string,
    value: Uint8Array | string = "",
    opts: AcquireOptions = {},
  ): Promise<boolean> {
    const deadline = opts.timeoutMs === undefined ? Infinity : this.now() + opts.timeoutMs;
    const signal = opts.signal
      ? AbortSignal.any([this.ended.signal, opts.signal])
      : this.ended.signal;
    let notified = false;
    for (;;) {
      if (await this.guard(() => tryAcquire(this.client, key, this.id, value), signal)) return true;
      let cur = await this.guard(() => readLockKey(this.client, key, { signal }), signal);
      while (isHeld(cur.kv)) {
        if (!notified) {
          notified = true;
          opts.onWait?.(cur.kv);
        }
        const left = deadline - this.now();
        if (left <= 0) return false;
        cur = await this.guard(
          () =>
            readLockKey(this.client, key, {
              index: cur.index,
              waitMs: Math.min(left, MAX_BLOCK_MS),
              signal,
            }),
          signal,
        );
      }
    }
  }

  /** Release a key this session holds. */
  release(key: string, value?: Uint8Array | string): Promise<void> {
    return this.guard(() => releaseLock(this.client, key, this.id, value), this.ended.signal);
  }

  /** Stop renewing and destroy the session on the server (its locks are freed). Idempotent. */
  async destroy(): Promise<void> {
    if (this.ended.signal.aborted) return;
    this.stopTimers();
    this.ended.abort(new GantryError("session_destroyed", `session ${this.id} was destroyed`));
    try {
      await destroySession(this.client, this.id);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "session_not_found")) throw err;
    }
  }

  /**
   * Run a request on behalf of the session: a 404 session_not_found marks it lost, an abort
   * caused by its loss surfaces as SessionLostError, and a server that is briefly unreachable is
   * retried (the keep-alive decides when that has lasted too long).
   */
  private async guard<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (let failures = 0; ; failures++) {
      if (this.lostError) throw this.lostError;
      signal.throwIfAborted();
      try {
        return await fn();
      } catch (err) {
        if (this.lostError) throw this.lostError;
        if (signal.aborted) throw signal.reason;
        if (err instanceof ApiError && err.code === "session_not_found") {
          this.lose("it expired or was destroyed on the server");
          throw this.lostError!;
        }
        if (!(err instanceof ConnectError)) throw err;
        await sleep(Math.min(1000, 100 * 2 ** failures), signal).catch(() => undefined);
      }
    }
  }

  private scheduleRenew(delayMs: number): void {
    this.renewTimer = setTimeout(() => void this.renew(), delayMs);
    this.renewTimer.unref();
  }

  /** The session may be gone on the server a TTL after the last renewal was sent. */
  private armExpiry(sentAt: number): void {
    clearTimeout(this.expiryTimer);
    const left = sentAt + this.ttlMs - this.now();
    this.expiryTimer = setTimeout(
      () => this.lose(`no renewal succeeded within its TTL (${this.info.ttl})`),
      Math.max(0, left),
    );
    this.expiryTimer.unref();
  }

  private async renew(): Promise<void> {
    if (this.ended.signal.aborted) return;
    const sentAt = this.now();
    try {
      await renewSession(
        this.client,
        this.id,
        AbortSignal.any([this.ended.signal, AbortSignal.timeout(this.ttlMs)]),
      );
      if (this.ended.signal.aborted) return;
      this.armExpiry(sentAt);
      this.scheduleRenew(this.ttlMs / 3);
    } catch (err) {
      if (this.ended.signal.aborted) return;
      if (err instanceof ApiError && err.status === 404) {
        this.lose("it expired or was destroyed on the server");
        return;
      }
      // Unreachable or slow server: try again soon; the expiry timer bounds how long.
      this.scheduleRenew(Math.min(1000, this.ttlMs / 10));
    }
  }

  private lose(why: string): void {
    if (this.ended.signal.aborted) return;
    this.stopTimers();
    this.lostError = new SessionLostError(this.id, why);
    this.ended.abort(this.lostError);
    this.onLost?.(this.lostError);
  }

  private stopTimers(): void {
    clearTimeout(this.renewTimer);
    clearTimeout(this.expiryTimer);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
