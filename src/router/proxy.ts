import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import {
  ChunkedFramer,
  HeadError,
  idempotent,
  MAX_HEAD,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "./http1.js";
import {
  ClientCounter,
  edgeLimits,
  refuseBusy,
  sweepIntervalMs,
  type EdgeLimits,
} from "./limits.js";
import { errorResponse, wantsHtml } from "./pages.js";
import type { RouteSnapshot } from "./source.js";
import { pickBackend, RouteTable, type Route } from "./table.js";
import { UpstreamPool, type Backend, type UpstreamConn, type UpstreamOwner } from "./upstream.js";

export interface ProxyOptions {
  domain: string;
  log: (line: string) => void;
  /** Client-side timeouts and the per-address cap (defaults: DEFAULT_LIMITS). */
  limits?: Partial<EdgeLimits>;
  /** How long a backend that refused a connection is skipped (ms). */
  downMs?: number;
  connectTimeoutMs?: number;
}

/** Request bodies up to this size are kept until the answer starts, so they can be sent again. */
const MAX_REPLAY = 64 * 1024;
/** Pipelined bytes buffered while a request is in flight before the client is paused. */
const MAX_PIPELINED = 4 * MAX_HEAD;

/**
 * The proxy core: accepts client sockets, routes each request by Host and forwards it over pooled
 * keep-alive connections. One instance per process (each router worker has its own).
 */
export class Proxy {
  table: RouteTable<Backend>;
  readonly pool: UpstreamPool;
  readonly domain: string;
  readonly log: (line: string) => void;
  readonly limits: EdgeLimits;
  readonly downMs: number;
  private readonly clients = new Set<ClientConn>();
  private readonly perClient: ClientCounter;
  /** A coarse clock (ms) for idle timeouts: cheaper than a timer per socket touched per read. */
  clock = Date.now();
  private readonly ticker: ReturnType<typeof setInterval>;
  private readonly idPrefix = randomBytes(6).toString("hex") + "-";
  private idCounter = 0;

  constructor(opts: ProxyOptions) {
    this.domain = opts.domain.toLowerCase();
    this.log = opts.log;
    this.limits = edgeLimits(opts.limits);
    this.perClient = new ClientCounter(this.limits.maxPerClient);
    this.downMs = opts.downMs ?? 2000;
    this.pool = new UpstreamPool({
      maxIdle: 256,
      idleMs: 4000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 5000,
    });
    this.table = this.build({ apps: [] });
    this.ticker = setInterval(() => this.tick(), sweepIntervalMs(this.limits));
    this.ticker.unref();
  }

  private tick(): void {
    this.clock = Date.now();
    for (const c of this.clients) c.sweep(this.clock);
  }

  /** Swap in a new table; connections to instances that left it close once idle. */
  setRoutes(snapshot: RouteSnapshot): void {
    this.table = this.build(snapshot);
  }

  private build(snapshot: RouteSnapshot): RouteTable<Backend> {
    const live = new Set<Backend>();
    const table = new RouteTable(snapshot, this.domain, (inst) => {
      const b = this.pool.backend(inst.address, inst.port);
      live.add(b);
      return b;
    });
    this.pool.retainOnly(live);
    return table;
  }

  /** Serve a client connection. */
  handle(socket: Socket): void {
    const ip = clientAddress(socket);
    if (!this.perClient.add(ip)) {
      refuseBusy(socket, ip, this.nextRequestId(), this.limits.lingerMs);
      return;
    }
    const conn = new ClientConn(this, socket, ip);
    this.clients.add(conn);
    socket.once("close", () => {
      this.clients.delete(conn);
      this.perClient.remove(ip);
    });
  }

  nextRequestId(): string {
    return this.idPrefix + (this.idCounter++).toString(36);
  }

  get connections(): number {
    return this.clients.size;
  }

  /** Drop every connection, client and upstream. */
  close(): void {
    clearInterval(this.ticker);
    for (const c of this.clients) c.socket.destroy();
    this.clients.clear();
    this.pool.close();
  }
}

/** The client's address, IPv4-mapped IPv6 as plain IPv4. */
function clientAddress(socket: Socket): string {
  const ip = socket.remoteAddress ?? "unknown";
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}

const HEAD = 0; // reading a request head
const EXCHANGE = 1; // a request is in flight
const TUNNEL = 2; // switched protocols: bytes flow both ways
const CLOSED = 3;

const RES_HEAD = 0;
const RES_BODY = 1;

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const BODY_CLOSE = 3;

/** One client connection and the exchange in flight on it (one at a time, in order). */
class ClientConn implements UpstreamOwner {
  private state = HEAD;
  /** Received bytes not yet handled (a partial head, or pipelined requests). */
  private inbuf: Buffer | null = null;
  /** The buffer `inbuf` grows in, while it does (see append). */
  private spare: Buffer | null = null;
  private pumping = false;
  private clientEnded = false;
  /** Between requests on a kept-alive connection, before a byte of the next head came. */
  private waiting = false;
  /** When the head being read began (the connection opened, or its first byte came). */
  private headStart: number;
  /** When the router closed its side (CLOSED). */
  private closedAt = 0;
  /** "https" on a connection the router's TLS listener decrypted. */
  private readonly proto: string;
  private lastActive: number;

  // The exchange in flight.
  private req: RequestHead | null = null;
  private requestId = "";
  private route: Route<Backend> | null = null;
  private up: UpstreamConn | null = null;
  private upHead = "";
  private attempts = 0;
  private failed: Set<Backend> | null = null;
  private reqDone = true;
  private reqLeft = 0;
  private reqFramer: ChunkedFramer | null = null;
  /** Body bytes sent so far while they can still be sent again; null once they cannot. */
  private replay: Buffer[] | null = null;
  private replayBytes = 0;
  private resStarted = false;
  private resPhase = RES_HEAD;
  private resBuf: Buffer | null = null;
  private resMode = BODY_NONE;
  private resLeft = 0;
  private resFramer: ChunkedFramer | null = null;
  private headSent = false;
  private upReusable = false;
  private closeAfter = false;

  constructor(
    private readonly proxy: Proxy,
    readonly socket: Socket,
    private readonly clientIp: string,
  ) {
    this.headStart = proxy.clock;
    this.proto = (socket as Socket & { encrypted?: boolean }).encrypted === true ? "https" : "http";
    this.lastActive = proxy.clock;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onClientData(chunk));
    socket.on("drain", () => {
      if (this.up !== null) this.up.socket.resume();
    });
    socket.on("end", () => this.onClientEnd());
    socket.on("error", () => undefined); // 'close' follows
    socket.on("close", () => this.onClientClose());
  }

  // --- client side ---------------------------------------------------------------------------

  /**
   * Enforce the deadlines at `now`: idle between requests, a head read too slowly (slowloris), a
   * body stalled, a closed connection the client keeps open. Waiting for a slow app is fine.
   */
  sweep(now: number): void {
    const l = this.proxy.limits;
    if (this.state === HEAD) {
      if (this.waiting) {
        if (now - this.lastActive >= l.idleMs) this.socket.destroy();
      } else if (now - this.headStart >= l.headMs) {
        // Nothing sent at all: just close (as nginx does); part of a head: say why.
        if (this.inbuf === null) this.socket.destroy();
        else this.timedOut("the request head was not complete in time");
      }
    } else if (this.state === EXCHANGE && !this.reqDone) {
      if (now - this.lastActive >= l.bodyMs) this.timedOut("the request body stalled");
    } else if (this.state === CLOSED && now - this.closedAt >= l.lingerMs) {
      this.socket.destroy();
    }
  }

  /** 408 and close; a request whose answer has begun can only be cut. */
  private timedOut(why: string): void {
    this.inbuf = null;
    if (this.state === EXCHANGE) {
      this.abandonUpstream();
      if (this.headSent) {
        this.state = CLOSED;
        this.socket.destroy();
        return;
      }
    } else this.requestId = this.proxy.nextRequestId();
    this.respond(408, why, undefined, false, this.req?.accept ?? "");
  }

  private onClientData(chunk: Buffer): void {
    this.lastActive = this.proxy.clock;
    if (this.waiting) {
      this.waiting = false;
      this.headStart = this.proxy.clock;
    }
    if (this.state === TUNNEL) {
      if (this.up !== null && !this.up.socket.write(chunk)) this.socket.pause();
      return;
    }
    if (this.state === CLOSED) return;
    this.append(chunk);
    this.pump();
  }

  /**
   * Add received bytes to `inbuf`. A head that arrives in many small pieces grows one buffer
   * geometrically instead of copying everything so far for each piece.
   */
  private append(chunk: Buffer): void {
    const have = this.inbuf;
    if (have === null) {
      this.inbuf = chunk;
      return;
    }
    const need = have.length + chunk.length;
    const spare = this.spare;
    if (
      spare !== null &&
      have.buffer === spare.buffer &&
      have.byteOffset === spare.byteOffset &&
      spare.length >= need
    ) {
      chunk.copy(spare, have.length);
      this.inbuf = spare.subarray(0, need);
      return;
    }
    const grown = Buffer.allocUnsafe(Math.max(need * 2, 4096));
    have.copy(grown, 0);
    chunk.copy(grown, have.length);
    this.spare = grown;
    this.inbuf = grown.subarray(0, need);
  }

  /** Handle buffered bytes as far as the current state allows. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.inbuf !== null) {
        const buf = this.inbuf;
        if (this.state === HEAD) {
          let req: RequestHead | null;
          try {
            req = parseRequestHead(buf);
          } catch (err) {
            if (!(err instanceof HeadError)) throw err;
            this.inbuf = null;
            this.requestId = this.proxy.nextRequestId();
            this.respond(err.status, err.message, undefined, false, "");
            return;
          }
          if (req === null) return;
          this.inbuf = req.size < buf.length ? buf.subarray(req.size) : null;
          this.begin(req);
        } else if (this.state === EXCHANGE && !this.reqDone) {
          const end = this.forwardBody(buf);
          if (this.state !== EXCHANGE) return;
          this.inbuf = end < buf.length ? buf.subarray(end) : null;
        } else {
          // Pipelined requests wait for the answer in flight.
          if (this.state === EXCHANGE && buf.length > MAX_PIPELINED) this.socket.pause();
          return;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private onClientEnd(): void {
    this.clientEnded = true;
    if (this.state === TUNNEL) this.up?.socket.end();
    else if (this.state === HEAD) this.close();
    else if (this.state === EXCHANGE && !this.reqDone) {
      // The body can never be complete: the app must not see a cut message as a whole one.
      this.abandonUpstream();
      this.socket.destroy();
    } else if (!this.headSent) this.closeAfter = true;
  }

  private onClientClose(): void {
    this.state = CLOSED;
    this.inbuf = null;
    const up = this.up;
    if (up !== null) {
      this.up = null;
      up.owner = null;
      up.socket.destroy();
    }
  }

  private close(): void {
    this.state = CLOSED;
    this.closedAt = this.proxy.clock;
    this.inbuf = null;
    this.socket.end();
  }

  // --- a request -----------------------------------------------------------------------------

  private begin(req: RequestHead): void {
    this.req = req;
    this.requestId = req.requestId !== "" ? req.requestId : this.proxy.nextRequestId();
    const hasBody = req.chunked || req.contentLength > 0;
    const route = this.proxy.table.route(req.host);
    if (route === undefined) {
      const miss = this.proxy.table.miss(req.host);
      if (miss.kind === "no-app")
        this.respond(
          404,
          `no app named ${miss.app}`,
          `Create it with: gantry apps:create ${miss.app}`,
          req.keepAlive && !hasBody,
          req.accept,
        );
      else
        this.respond(
          404,
          `no app for host ${miss.host === "" ? "(none)" : miss.host}`,
          `Apps are served at <app>.${this.proxy.domain}; add a custom domain with: gantry domains:add APP ${miss.host || "DOMAIN"}`,
          req.keepAlive && !hasBody,
          req.accept,
        );
      return;
    }
    if (route.backends.length === 0) {
      this.respond(
        503,
        `no passing instance of app ${route.app}`,
        `See its instances with: gantry ps ${route.app}`,
        req.keepAlive && !hasBody,
        req.accept,
      );
      return;
    }

    const host = req.host;
    let head = `${req.method} ${req.target} HTTP/1.${req.minor}\r\n${req.lines}`;
    if (req.chunked) head += "transfer-encoding: chunked\r\n";
    else if (req.contentLength >= 0) head += `content-length: ${req.contentLength}\r\n`;
    if (req.upgrade !== "") head += `connection: upgrade\r\nupgrade: ${req.upgrade}\r\n`;
    head +=
      `x-forwarded-for: ${req.forwardedFor === "" ? this.clientIp : `${req.forwardedFor}, ${this.clientIp}`}\r\n` +
      `x-forwarded-proto: ${this.proto}\r\nx-forwarded-host: ${host}\r\nx-request-id: ${this.requestId}\r\n\r\n`;

    this.state = EXCHANGE;
    this.route = route;
    this.upHead = head;
    this.attempts = 0;
    this.failed = null;
    this.reqDone = !hasBody;
    this.reqLeft = req.contentLength;
    this.reqFramer = req.chunked ? new ChunkedFramer() : null;
    this.replay = null;
    this.replayBytes = 0;
    this.resStarted = false;
    this.resPhase = RES_HEAD;
    this.resBuf = null;
    this.headSent = false;
    this.upReusable = false;
    // An HTTP/1.0 client gets one answer per connection: simplest and always correct.
    this.closeAfter = !req.keepAlive || req.minor === 0 || this.clientEnded;
    if (!this.connect(false)) this.badGateway("no instance to send it to");
  }

  /** Send the request (head and body so far) to the next backend; false when none is left. */
  private connect(fresh: boolean): boolean {
    const now = Date.now();
    const backend = pickBackend(this.route!, this.failed, now);
    if (backend === undefined) return false;
    const up = this.proxy.pool.acquire(backend, now, fresh);
    up.owner = this;
    this.up = up;
    this.attempts++;
    const s = up.socket;
    if (this.replay === null) {
      s.write(this.upHead, "latin1");
    } else {
      s.cork();
      s.write(this.upHead, "latin1");
      for (const b of this.replay) s.write(b);
      s.uncork();
    }
    return true;
  }

  /** Forward request body bytes from the start of `buf`; returns where the body ended in it. */
  private forwardBody(buf: Buffer): number {
    let end: number;
    if (this.reqFramer !== null) {
      let e: number;
      try {
        e = this.reqFramer.feed(buf, 0);
      } catch (err) {
        if (!(err instanceof HeadError)) throw err;
        this.abandonUpstream();
        if (this.headSent) this.socket.destroy();
        else this.respond(400, err.message, undefined, false, this.req!.accept);
        return buf.length;
      }
      end = e < 0 ? buf.length : e;
      if (e >= 0) this.reqDone = true;
    } else {
      end = Math.min(this.reqLeft, buf.length);
      this.reqLeft -= end;
      if (this.reqLeft === 0) this.reqDone = true;
    }
    if (end === 0) return 0;
    const part = end === buf.length ? buf : buf.subarray(0, end);
    if (!this.resStarted && this.replayBytes + part.length <= MAX_REPLAY) {
      (this.replay ??= []).push(part);
      this.replayBytes += part.length;
    } else {
      this.replayBytes = MAX_REPLAY + 1; // streamed on: can no longer be sent again
      this.replay = null;
    }
    const up = this.up;
    if (up !== null && !up.socket.write(part)) this.socket.pause();
    return end;
  }

  // --- the answer ----------------------------------------------------------------------------

  onUpstreamDrain(up: UpstreamConn): void {
    if (up === this.up && (this.state === TUNNEL || !this.reqDone)) this.socket.resume();
  }

  onUpstreamData(up: UpstreamConn, chunk: Buffer): void {
    if (up !== this.up) return;
    this.resStarted = true;
    // `chunk` is the upstream read buffer, reused by the next read: whatever is written or kept
    // is copied (for a small answer, head and body into one buffer: one write, one syscall).
    if (this.state === TUNNEL) {
      if (!this.socket.write(Buffer.from(chunk))) up.socket.pause();
      return;
    }
    let buf = chunk;
    let pos = 0;
    let head = "";
    if (this.resPhase === RES_HEAD) {
      if (this.resBuf !== null) {
        buf = Buffer.concat([this.resBuf, chunk]);
        this.resBuf = null;
      }
      for (;;) {
        let res: ResponseHead | null;
        try {
          res = parseResponseHead(buf, pos, this.req!.upgrade !== "");
        } catch (err) {
          if (!(err instanceof HeadError)) throw err;
          this.abandonUpstream();
          this.badGateway(err.message);
          return;
        }
        if (res === null) {
          this.resBuf = Buffer.from(buf.subarray(pos));
          return;
        }
        pos += res.size;
        if (res.status === 101) {
          if (this.req!.upgrade === "") {
            this.abandonUpstream();
            this.badGateway("the app switched protocols without being asked to");
          } else this.tunnel(res, buf, pos);
          return;
        }
        if (res.status >= 200) {
          head = this.beginResponse(res);
          break;
        }
        // 1xx (100 Continue, 103 Early Hints): pass on to HTTP/1.1 clients, then read on.
        if (this.req!.minor === 1) this.socket.write(res.head + "\r\n", "latin1");
        if (pos === buf.length) return;
      }
    }
    this.forwardResponse(buf, pos, head);
  }

  /** Decide how the answer is framed and whether the connections go on; returns its head. */
  private beginResponse(head: ResponseHead): string {
    const req = this.req!;
    this.resPhase = RES_BODY;
    if (req.method === "HEAD" || head.status === 204 || head.status === 304) {
      this.resMode = BODY_NONE;
    } else if (head.chunked) {
      this.resMode = BODY_CHUNKED;
      this.resFramer ??= new ChunkedFramer();
      this.resFramer.reset();
    } else if (head.contentLength >= 0) {
      this.resMode = BODY_LENGTH;
      this.resLeft = head.contentLength;
    } else {
      this.resMode = BODY_CLOSE;
    }
    this.upReusable = !head.close && this.resMode !== BODY_CLOSE && req.upgrade === "";
    if (this.resMode === BODY_CLOSE || !this.reqDone || req.upgrade !== "") this.closeAfter = true;
    this.headSent = true;
    return this.closeAfter ? head.head + "connection: close\r\n\r\n" : head.head + "\r\n";
  }

  /** Forward body bytes of `buf` from `pos` (after `head`, when it is the first part). */
  private forwardResponse(buf: Buffer, pos: number, head: string): void {
    let end = buf.length;
    let done = false;
    switch (this.resMode) {
      case BODY_NONE:
        end = pos;
        done = true;
        break;
      case BODY_LENGTH:
        end = pos + Math.min(this.resLeft, buf.length - pos);
        this.resLeft -= end - pos;
        done = this.resLeft === 0;
        break;
      case BODY_CHUNKED: {
        let e: number;
        try {
          e = this.resFramer!.feed(buf, pos);
        } catch {
          // The app broke its own framing: the client cannot be told more than that.
          this.abandonUpstream();
          this.socket.destroy();
          return;
        }
        if (e >= 0) {
          end = e;
          done = true;
        }
        break;
      }
    }
    if (head !== "" || end > pos) {
      const out = Buffer.allocUnsafe(head.length + end - pos);
      if (head !== "") out.write(head, 0, "latin1");
      buf.copy(out, head.length, pos, end);
      if (!this.socket.write(out) && this.up !== null) this.up.socket.pause();
    }
    if (end < buf.length && this.resMode !== BODY_CLOSE) this.upReusable = false; // extra bytes
    if (done) this.finish();
  }

  /** The answer is complete: the upstream connection goes back to the pool, the client goes on. */
  private finish(): void {
    const up = this.up;
    this.up = null;
    if (up !== null) {
      if (this.upReusable && this.reqDone) this.proxy.pool.release(up, Date.now());
      else {
        up.owner = null;
        up.socket.destroy();
      }
    }
    this.req = null;
    this.route = null;
    this.replay = null;
    this.failed = null;
    if (this.closeAfter || this.clientEnded) {
      this.close();
      return;
    }
    this.state = HEAD;
    this.lastActive = this.proxy.clock;
    this.waitNext();
    if (this.socket.isPaused()) this.socket.resume();
    if (this.inbuf !== null) this.pump();
  }

  onUpstreamGone(up: UpstreamConn, err: Error | undefined): void {
    if (up !== this.up) return;
    this.up = null;
    if (this.state === TUNNEL) {
      if (err === undefined) this.socket.end();
      else this.socket.destroy();
      this.state = CLOSED;
      return;
    }
    if (this.resPhase === RES_BODY && this.resMode === BODY_CLOSE) {
      this.finish(); // the end of a body delimited by closing
      return;
    }
    if (this.resPhase === RES_BODY) {
      // Cut off in the middle of an answer already on its way: the client must see it broke.
      this.socket.destroy();
      return;
    }
    const req = this.req!;
    const backend = up.backend;
    const refused = !up.connected;
    if (refused) backend.downUntil = Date.now() + this.proxy.downMs;
    // A reused connection that broke before answering is most likely the keep-alive race (the
    // app closed it as we sent): the request is safe to send again, even to the same instance.
    if (refused || !up.reused) (this.failed ??= new Set()).add(backend);
    const replayable = this.replayBytes <= MAX_REPLAY && !this.resStarted;
    const safe = replayable && (refused || up.reused || idempotent(req.method));
    const maxAttempts = Math.min(this.route!.backends.length + 2, 8);
    if (safe && this.attempts < maxAttempts && this.connect(up.reused && !refused)) return;
    const why = err?.message ?? "the connection closed before an answer";
    this.proxy.log(
      `router: ${req.method} ${req.host}${req.target} → ${backend.key} failed after ${this.attempts} attempt(s): ${why} (request ${this.requestId})`,
    );
    this.badGateway(why);
  }

  private badGateway(why: string): void {
    const req = this.req!;
    this.respond(
      502,
      `app ${this.route?.app ?? req.host} did not answer`,
      why,
      req.keepAlive && this.reqDone && this.resPhase === RES_HEAD && !this.resStarted,
      req.accept,
    );
  }

  /** Drop the upstream connection of the exchange without reusing it. */
  private abandonUpstream(): void {
    const up = this.up;
    this.up = null;
    if (up !== null) {
      up.owner = null;
      up.socket.destroy();
    }
  }

  /** Answer with the router's own page; the connection goes on only when `keepAlive`. */
  private respond(
    status: number,
    message: string,
    hint: string | undefined,
    keepAlive: boolean,
    accept: string,
  ): void {
    const close = !keepAlive || this.clientEnded || (this.req !== null && this.req.minor === 0);
    this.socket.write(
      errorResponse({
        status,
        message,
        ...(hint === undefined ? {} : { hint }),
        requestId: this.requestId,
        html: wantsHtml(accept),
        close,
        head: this.req?.method === "HEAD",
      }),
    );
    this.req = null;
    this.route = null;
    this.replay = null;
    if (close) this.close();
    else {
      this.state = HEAD;
      this.reqDone = true;
      this.waitNext();
      if (this.socket.isPaused()) this.socket.resume();
      if (this.inbuf !== null) this.pump();
    }
  }

  /** Back to reading heads: idle until the next one begins (or reading it, when it has). */
  private waitNext(): void {
    this.waiting = this.inbuf === null;
    this.headStart = this.proxy.clock;
  }

  /** 101 Switching Protocols: from now on bytes flow both ways untouched. */
  private tunnel(head: ResponseHead, buf: Buffer, pos: number): void {
    const up = this.up!;
    this.state = TUNNEL;
    this.socket.write(head.head + "connection: upgrade\r\n\r\n", "latin1");
    if (pos < buf.length) this.socket.write(Buffer.from(buf.subarray(pos)));
    if (this.inbuf !== null) {
      up.socket.write(this.inbuf);
      this.inbuf = null;
    }
    if (this.clientEnded) up.socket.end();
  }
}
