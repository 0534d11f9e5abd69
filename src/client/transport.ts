import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import { Readable } from "node:stream";
import { CONNECT_TIMEOUT } from "./servers.js";

/**
 * A server that does not take the connection within this long counts as away (ms): the client
 * then tries the next server it knows (servers.ts). A live one on the LAN answers in < 1 ms.
 */
export const CONNECT_TIMEOUT_MS = 2000;

/**
 * What the client needs of an HTTP answer: the part of fetch's `Response` it uses, so that a
 * `Response` is one (the `fetch` transport) and so is an answer read whole over node:http.
 */
export interface ApiResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  /** The body as a stream (fetch's answers stream; node:http ones were read whole). */
  readonly body: ReadableStream<Uint8Array> | null;
  json(): Promise<unknown>;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** One request as the client makes it. */
export interface TransportRequest {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** No connection within this long fails with code GANTRY_CONNECT_TIMEOUT (default CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
}

/** Sends a request; rejects only when there is no answer (AbortError when aborted). */
export type Transport = (url: URL, req: TransportRequest) => Promise<ApiResponse>;

/** A transport over a fetch function (streams bodies as they arrive). */
export function fetchTransport(fetchFn: typeof fetch): Transport {
  return (url, req) =>
    fetchFn(url, {
      method: req.method,
      headers: req.headers,
      ...(req.body === undefined ? {} : { body: req.body }),
      ...(req.signal ? { signal: req.signal } : {}),
    });
}

// One keep-alive pool per process and protocol; idle sockets do not keep the process alive.
let httpAgent: HttpAgent | undefined;
let httpsAgent: HttpsAgent | undefined;
// node:https (and TLS, and crypto) is loaded only for an https address: ~10 ms of a CLI start.
const https = (): typeof import("node:https") => process.getBuiltinModule("node:https");
const trusted: string[] = [];

/**
 * Trust `caPem` (the cluster CA) for https requests, besides the system's roots. Verification
 * stays on: a certificate neither signs is refused (see ConnectError for the message).
 */
export function trustCa(caPem: string): void {
  if (trusted.includes(caPem)) return;
  trusted.push(caPem);
  httpsAgent?.destroy();
  httpsAgent = undefined;
}

function agentFor(tls: boolean): HttpAgent {
  if (!tls) return (httpAgent ??= new HttpAgent({ keepAlive: true }));
  const roots = process.getBuiltinModule("node:tls").rootCertificates;
  return (httpsAgent ??= new (https().Agent)({
    keepAlive: true,
    ...(trusted.length === 0 ? {} : { ca: [...roots, ...trusted] }),
  }));
}

/**
 * Requests over node:http / node:https with keep-alive, each answer read whole before it
 * resolves. For ordinary JSON requests: fetch costs a short-lived CLI process ~45 ms just to
 * load its implementation (undici) and more CPU per request, and its idle connections hold
 * the process open for a while after its work is done (docs/stack.md, "Figures").
 */
export const nodeTransport: Transport = (url, req) =>
  send(url, req).catch((err: unknown) => {
    // A kept-alive socket the server closed just as we reused it: a GET is safe to send again.
    if ((err as { reused?: boolean }).reused === true && req.method === "GET")
      return send(url, req);
    throw err;
  });

/**
 * Streamed requests over node:http(s): what the client uses for an https address, whose
 * cluster CA fetch (undici) would not trust.
 */
export const nodeStreamTransport: Transport = (url, req) => send(url, req, true);

function send(url: URL, req: TransportRequest, stream = false): Promise<ApiResponse> {
  const tls = url.protocol === "https:";
  const agent = agentFor(tls);
  const headers: Record<string, string | number> = { ...req.headers };
  if (req.body !== undefined) headers["content-length"] = Buffer.byteLength(req.body);
  return new Promise((resolve, reject) => {
    const r = (tls ? https().request : httpRequest)(
      url,
      {
        method: req.method,
        headers,
        agent,
        ...(req.signal ? { signal: req.signal } : {}),
      },
      (res) =>
        stream
          ? resolve(new StreamedResponse(res))
          : readWhole(res, req.signal).then(resolve, reject),
    );
    r.on("socket", (socket) => {
      if (!socket.connecting) return; // a kept-alive one
      const ms = req.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
      const timer = setTimeout(() => {
        const err = new Error(`no connection to ${url.host} within ${ms} ms`);
        r.destroy(Object.assign(err, { code: CONNECT_TIMEOUT }));
      }, ms);
      const clear = (): void => clearTimeout(timer);
      socket.once("connect", clear);
      socket.once("close", clear);
    });
    r.on("error", (err) => {
      if (req.signal?.aborted) reject(abortError());
      else reject(Object.assign(err, { reused: r.reusedSocket }));
    });
    r.end(req.body);
  });
}

function readWhole(res: IncomingMessage, signal: AbortSignal | undefined): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(new WholeResponse(res, Buffer.concat(chunks))));
    res.on("error", (err) => reject(signal?.aborted ? abortError() : err));
    res.on("aborted", () =>
      reject(signal?.aborted ? abortError() : new Error("the answer was cut short")),
    );
  });
}

function abortError(): Error {
  return new DOMException("This operation was aborted", "AbortError");
}

/** An answer whose body streams as it arrives. */
class StreamedResponse implements ApiResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array>;

  constructor(res: IncomingMessage) {
    this.status = res.statusCode ?? 0;
    this.statusText = res.statusMessage ?? "";
    this.headers = headerGetter(res);
    this.body = Readable.toWeb(res) as ReadableStream<Uint8Array>;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const chunks: Uint8Array[] = [];
    for await (const c of this.body as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    const b = Buffer.concat(chunks);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return Buffer.from(await this.arrayBuffer()).toString("utf8");
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

function headerGetter(res: IncomingMessage): { get(name: string): string | null } {
  const raw = res.headers;
  return {
    get: (name) => {
      const v = raw[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
    },
  };
}

/** An answer whose body has been read whole. */
class WholeResponse implements ApiResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };

  constructor(
    res: IncomingMessage,
    private readonly bytes: Buffer,
  ) {
    this.status = res.statusCode ?? 0;
    this.statusText = res.statusMessage ?? "";
    this.headers = headerGetter(res);
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get body(): ReadableStream<Uint8Array> | null {
    const bytes = this.bytes;
    return new ReadableStream({
      start(c) {
        if (bytes.length > 0) c.enqueue(new Uint8Array(bytes));
        c.close();
      },
    });
  }

  async text(): Promise<string> {
    return this.bytes.toString("utf8");
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.bytes.toString("utf8"));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = this.bytes;
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
}
