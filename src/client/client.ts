import type { AuditEntry } from "../model/token.js";
import { ValidationError } from "../errors.js";
import { ApiError, ConnectError } from "./errors.js";
import { parseDuration } from "../model/duration.js";
import {
  BLOCKING_MARGIN_MS,
  idempotentMethod,
  mayResend,
  noAnswerIn,
  parseServerList,
  ServerList,
  unanswered,
} from "./servers.js";
import { parseSse } from "./sse.js";
import {
  fetchTransport,
  nodeStreamTransport,
  nodeTransport,
  type ApiResponse,
  type Transport,
} from "./transport.js";

/** A KV entry as the API returns it (value in base64). */
export interface ApiKeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
  /** The session holding this key as a lock (see src/client/sessions.ts). */
  session?: string;
}

export interface KvEvent extends ApiKeyValue {
  type: "put" | "delete";
}

export interface ClientOptions {
  /**
   * Base URL, e.g. http://127.0.0.1:7700; or several servers of one cluster, as a list or
   * comma-separated: a request that gets no answer moves the client on to the next (servers.ts).
   */
  addr: string | readonly string[];
  token?: string;
  /**
   * A blocking read (`?wait=`) not answered within its wait and this much more counts as no
   * answer: its server is left for the next (ms; default 10 s).
   */
  blockingMarginMs?: number;
  /**
   * Swappable for tests: every request then goes through it. By default ordinary requests go
   * over node:http(s) with keep-alive (src/client/transport.ts) and streamed ones over fetch.
   */
  fetch?: typeof fetch;
  /**
   * Called for each answer marked `X-Gantry-Stale: true`: the server read it while the control
   * plane had lost quorum, so it may be out of date (the CLI prints "(stale)").
   */
  onStale?: () => void;
}

type Query = Record<string, string | number | boolean | undefined>;

/**
 * The typed API client used by the CLI, the agent and users' programs. It never imports server
 * code: only the wire format is shared.
 */
export class GantryClient {
  /** The servers it knows; requests go to the current one. */
  readonly servers: ServerList;
  private readonly token: string | undefined;
  private readonly plain: Transport;
  private streamed: Transport | undefined;
  private readonly onStale: (() => void) | undefined;
  private readonly blockingMarginMs: number;

  constructor(opts: ClientOptions) {
    this.servers = new ServerList(parseServerList(opts.addr));
    this.token = opts.token;
    this.onStale = opts.onStale;
    this.blockingMarginMs = opts.blockingMarginMs ?? BLOCKING_MARGIN_MS;
    if (opts.fetch !== undefined) this.plain = this.streamed = fetchTransport(opts.fetch);
    else this.plain = nodeTransport;
  }

  /**
   * One request; JSON in and out unless `raw`. Non-2xx answers throw ApiError. The answer is
   * read whole before this resolves, unless `stream` (a watch, a followed deploy or log, a
   * download): then its `body` streams as it arrives.
   */
  async request(
    method: string,
    path: string,
    opts: {
      query?: Query;
      body?: unknown;
      raw?: Uint8Array | string;
      signal?: AbortSignal;
      headers?: Record<string, string>;
      stream?: boolean;
    } = {},
  ): Promise<ApiResponse> {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v === undefined || v === false) continue;
      search.set(k, v === true ? "" : String(v));
    }
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.token !== undefined) headers["authorization"] = `Bearer ${this.token}`;
    let body: string | Uint8Array | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
    // fetch's implementation is loaded only by the first streamed request.
    // An https address streams over node:https too: it trusts the cluster CA (trustCa).
    // A blocking read answers within its `wait`: one that does not has a server gone silent.
    const waitMs =
      typeof opts.query?.["wait"] === "string" && opts.stream !== true
        ? parseDuration(opts.query["wait"])
        : undefined;
    const deadline =
      waitMs === undefined
        ? undefined
        : AbortSignal.timeout(Math.round(waitMs + this.blockingMarginMs));
    const signal =
      deadline === undefined
        ? opts.signal
        : opts.signal === undefined
          ? deadline
          : AbortSignal.any([opts.signal, deadline]);
    // Each server at most once: the one that answers, or the last one's failure.
    for (let tried = 1; ; tried++) {
      const base = this.servers.current;
      const url = new URL(base + path);
      // A query in `path` itself (`/v1/certs?app=x`) stays; `opts.query` adds to it.
      for (const [k, v] of search) url.searchParams.set(k, v);
      const send =
        opts.stream === true
          ? (this.streamed ??=
              url.protocol === "https:" ? nodeStreamTransport : fetchTransport(fetch))
          : this.plain;
      let res: ApiResponse;
      try {
        res = await send(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        const how = unanswered(err, opts.signal, signal);
        if (how === "aborted") throw err;
        if (how !== undefined) {
          this.servers.failed(base);
          // A deadline that passed ends the request; the caller's loop goes on with the next.
          const late = signal?.aborted === true;
          if (!late && tried < this.servers.size && mayResend(method, how)) continue;
          if (late) throw new ConnectError(base, noAnswerIn(signal));
        }
        // Every server tried and none answered: name them all.
        const all = how !== undefined && tried >= this.servers.size && this.servers.size > 1;
        throw new ConnectError(all ? this.servers.all.join(", ") : base, err);
      }
      const stale = res.headers.get("x-gantry-stale") === "true";
      if (stale) this.onStale?.();
      // A server cut off from the majority answers stale reads and refuses writes: the next
      // request tries another (one of the majority's is fresh). An idempotent request refused
      // for want of quorum goes there at once.
      if (stale) this.servers.failed(base);
      if (!res.ok) {
        const err = await toApiError(res);
        if (res.status === 503 && (err.code === "no_quorum" || err.code === "unavailable")) {
          this.servers.failed(base);
          if (signal?.aborted !== true && tried < this.servers.size && idempotentMethod(method))
            continue;
        }
        throw err;
      }
      return res;
    }
  }

  /** The server requests go to now (the first of `servers` until one gives no answer). */
  get addr(): string {
    return this.servers.current;
  }

  async json<T>(
    method: string,
    path: string,
    opts: Parameters<GantryClient["request"]>[2] = {},
  ): Promise<T> {
    const res = await this.request(method, path, opts);
    return (await res.json()) as T;
  }

  health(): Promise<{ status: string; store: string; revision: number }> {
    return this.json("GET", "/v1/health");
  }

  // --- KV ---------------------------------------------------------------------------------

  /** One key, or undefined when it does not exist. */
  async kvGet(key: string, opts: { revision?: number } = {}): Promise<ApiKeyValue | undefined> {
    try {
      return await this.json<ApiKeyValue>("GET", `/v1/kv/${encodeKey(key)}`, {
        query: { revision: opts.revision },
      });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && err.code === "not_found")
        return undefined;
      throw err;
    }
  }

  /** Every key under a prefix (values included unless keysOnly). */
  kvList(
    prefix: string,
    opts: { keysOnly?: boolean; index?: number; wait?: string } = {},
  ): Promise<ApiKeyValue[] | string[]> {
    return this.json("GET", `/v1/kv/${encodeKey(prefix)}`, {
      query: { recurse: true, keys: opts.keysOnly, index: opts.index, wait: opts.wait },
    });
  }

  /** Write a key; with `cas` only if its modRevision is that (0: only if absent). Returns the revision. */
  async kvPut(
    key: string,
    value: Uint8Array | string,
    opts: { cas?: number; lease?: string } = {},
  ): Promise<number> {
    const res = await this.json<{ revision: number }>("PUT", `/v1/kv/${encodeKey(key)}`, {
      raw: value,
      query: { cas: opts.cas, lease: opts.lease },
    });
    return res.revision;
  }

  async kvDelete(key: string, opts: { recurse?: boolean; cas?: number } = {}): Promise<number> {
    const res = await this.json<{ revision: number }>("DELETE", `/v1/kv/${encodeKey(key)}`, {
      query: { recurse: opts.recurse, cas: opts.cas },
    });
    return res.revision;
  }

  /**
   * Follow changes under a key or prefix from a revision; resumes by itself after a dropped
   * connection from the last revision seen + 1, so no event is lost or repeated.
   */
  async *kvWatch(
    key: string,
    opts: {
      recurse?: boolean;
      start?: number;
      signal?: AbortSignal;
      onReady?: (revision: number) => void;
    } = {},
  ): AsyncGenerator<{ revision: number; events: KvEvent[] }> {
    let next = opts.start;
    let failures = 0;
    while (!opts.signal?.aborted) {
      let res: ApiResponse;
      try {
        res = await this.request("GET", `/v1/watch/kv/${encodeKey(key)}`, {
          query: { recurse: opts.recurse, start: next },
          headers: { accept: "text/event-stream" },
          stream: true,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (err) {
        if (opts.signal?.aborted) return;
        if (!(err instanceof ConnectError) || ++failures > 60) throw err;
        await sleep(Math.min(2000, 100 * failures));
        continue;
      }
      failures = 0;
      try {
        for await (const ev of parseSse(res.body!)) {
          if (ev.event === "ready") {
            const { revision } = JSON.parse(ev.data) as { revision: number };
            if (next === undefined) next = revision + 1;
            opts.onReady?.(revision);
          } else if (ev.event === "kv") {
            const batch = JSON.parse(ev.data) as { revision: number; events: KvEvent[] };
            next = batch.revision + 1;
            yield batch;
          } else if (ev.event === "error") {
            const e = JSON.parse(ev.data) as { code: string; message: string };
            throw new ApiError(410, e.code, e.message);
          }
        }
      } catch (err) {
        if (err instanceof ApiError || opts.signal?.aborted) {
          if (opts.signal?.aborted) return;
          throw err;
        }
        // The stream broke (server restart): reconnect from `next`.
      }
      await sleep(100);
    }
  }

  // --- tokens and audit -------------------------------------------------------------------

  tokensList(): Promise<TokenInfo[]> {
    return this.json("GET", "/v1/tokens");
  }

  /** Create a token from policies and/or a role (`apps` for deployer); `ttl` like "24h". */
  tokensCreate(
    name: string,
    policies: unknown[],
    opts: { role?: string; apps?: string[]; ttl?: string } = {},
  ): Promise<TokenInfo & { secret: string }> {
    return this.json("POST", "/v1/tokens", { body: { name, policies, ...opts } });
  }

  /** Give a token a new secret (printed once); the old one stops working. */
  tokensRotate(idOrName: string): Promise<TokenInfo & { secret: string }> {
    return this.json("POST", `/v1/tokens/${encodeURIComponent(idOrName)}/rotate`);
  }

  /** The calling token (policies, role, expiry). */
  tokensSelf(): Promise<TokenInfo> {
    return this.json("GET", "/v1/tokens/self");
  }

  /** Replace a token's policies (its secret stays). */
  tokensUpdate(idOrName: string, policies: unknown[]): Promise<TokenInfo> {
    return this.json("PUT", `/v1/tokens/${encodeURIComponent(idOrName)}`, { body: { policies } });
  }

  tokensRevoke(idOrName: string): Promise<TokenInfo> {
    return this.json("DELETE", `/v1/tokens/${encodeURIComponent(idOrName)}`);
  }

  /** Newest last; filters as GET /v1/audit takes them (token, action, target, since, before). */
  audit(
    limit?: number,
    filter: {
      token?: string;
      action?: string;
      target?: string;
      since?: string;
      before?: string;
    } = {},
  ): Promise<AuditEntry[]> {
    return this.json("GET", "/v1/audit", { query: { limit, ...filter } });
  }
}

export interface TokenInfo {
  id: string;
  name: string;
  policies: unknown[];
  createdAt: string;
  createdBy: string;
  role?: string;
  apps?: string[];
  expiresAt?: string;
  /** The record's store revision (in lists). */
  modRevision?: number;
}

/** Percent-encode each segment of a key, keeping the slashes. */
export function encodeKey(key: string): string {
  const segments = key.split("/");
  if (segments.some((s) => s === "." || s === "..")) {
    // URLs resolve dot segments, which would address another key: refuse rather than surprise.
    throw new ValidationError(`"${key}" must not contain "." or ".." segments`, "key");
  }
  return segments.map(encodeURIComponent).join("/");
}

async function toApiError(res: ApiResponse): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = `${res.status} ${res.statusText}`;
  let field: string | undefined;
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string; field?: string };
    };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
    field = body.error?.field;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message, field);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
