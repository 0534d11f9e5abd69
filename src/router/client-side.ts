import type { Socket } from "node:net";
import {
  HeadError,
  MAX_HEAD,
  parseRequestHead,
  type RequestHead,
  type ResponseHead,
} from "./http1.js";
import { challengeResponse } from "./acme-challenge.js";
import { errorResponse, wantsHtml } from "./pages.js";
import type { Proxy } from "./proxy.js";
import type { Route } from "./table.js";
import type { Backend, UpstreamConn } from "./upstream.js";

/** Pipelined bytes buffered while a request is in flight before the client is paused. */
const MAX_PIPELINED = 4 * MAX_HEAD;

export const HEAD = 0; // reading a request head
export const EXCHANGE = 1; // a request is in flight
export const TUNNEL = 2; // switched protocols: bytes flow both ways
export const CLOSED = 3;

/**
 * The client side of one connection: reading heads and pipelined bytes, the deadlines, the
 * router's own answers and closing. ClientConn adds the exchange with the app.
 */
export abstract class ClientSide {
  protected state = HEAD;
  /** Received bytes not yet handled (a partial head, or pipelined requests). */
  protected inbuf: Buffer | null = null;
  /** The buffer `inbuf` grows in, while it does (see append). */
  private spare: Buffer | null = null;
  private pumping = false;
  protected clientEnded = false;
  /** Between requests on a kept-alive connection, before a byte of the next head came. */
  private waiting = false;
  /** When the head being read began (the connection opened, or its first byte came). */
  private headStart: number;
  /** When the router closed its side (CLOSED). */
  private closedAt = 0;
  /** "https" on a connection the router's TLS listener decrypted. */
  protected readonly proto: string;
  protected lastActive: number;

  // The exchange in flight (the rest of it is in ClientConn).
  protected req: RequestHead | null = null;
  protected requestId = "";
  protected route: Route<Backend> | null = null;
  protected up: UpstreamConn | null = null;
  protected reqDone = true;
  /** Body bytes sent so far while they can still be sent again; null once they cannot. */
  protected replay: Buffer[] | null = null;
  protected headSent = false;
  protected closeAfter = false;

  constructor(
    protected readonly proxy: Proxy,
    readonly socket: Socket,
    protected readonly clientIp: string,
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
  protected pump(): void {
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

  protected close(): void {
    this.state = CLOSED;
    this.closedAt = this.proxy.clock;
    this.inbuf = null;
    this.socket.end();
  }

  /** Drop the upstream connection of the exchange without reusing it. */
  protected abandonUpstream(): void {
    const up = this.up;
    this.up = null;
    if (up !== null) {
      up.owner = null;
      up.socket.destroy();
    }
  }

  /** Answer with the router's own page; the connection goes on only when `keepAlive`. */
  protected respond(
    status: number,
    message: string,
    hint: string | undefined,
    keepAlive: boolean,
    accept: string,
  ): void {
    const close = this.closesAfterOwn(keepAlive);
    // An app's HSTS holds for the router's answers on its behalf too (a 503 while it is down).
    const hsts = this.proto === "https" ? (this.route?.hsts ?? null) : null;
    this.sendOwn(
      errorResponse({
        status,
        message,
        ...(hint === undefined ? {} : { hint }),
        ...(hsts === null ? {} : { headers: hsts }),
        requestId: this.requestId,
        html: wantsHtml(accept),
        close,
        head: this.req?.method === "HEAD",
      }),
      close,
    );
  }

  /** Whether the connection ends after one of the router's own answers. */
  protected closesAfterOwn(keepAlive: boolean): boolean {
    return !keepAlive || this.clientEnded || (this.req !== null && this.req.minor === 0);
  }

  /** Write one of the router's own answers and end the exchange (and the connection, if `close`). */
  protected sendOwn(answer: string, close: boolean): void {
    this.socket.write(answer);
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

  /**
   * Answer an ACME HTTP-01 challenge from the proxy's lookup. Until the answer is written the
   * exchange counts as in flight, so pipelined requests wait behind it.
   */
  protected answerChallenge(req: RequestHead, token: string): void {
    this.req = req;
    this.requestId = req.requestId !== "" ? req.requestId : this.proxy.nextRequestId();
    this.state = EXCHANGE;
    this.reqDone = true;
    void this.proxy.challenges!(token).then((keyAuth) => {
      if (this.state !== EXCHANGE || this.req !== req) return;
      const close = this.closesAfterOwn(req.keepAlive);
      const head = req.method === "HEAD";
      this.sendOwn(challengeResponse(keyAuth, { requestId: this.requestId, close, head }), close);
    });
  }

  /** Back to reading heads: idle until the next one begins (or reading it, when it has). */
  protected waitNext(): void {
    this.waiting = this.inbuf === null;
    this.headStart = this.proxy.clock;
  }

  /** 101 Switching Protocols: from now on bytes flow both ways untouched. */
  protected tunnel(head: ResponseHead, buf: Buffer, pos: number): void {
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

  /** Route and forward a request whose head has been read. */
  protected abstract begin(req: RequestHead): void;
  /** Forward request body bytes from the start of `buf`; returns where the body ended in it. */
  protected abstract forwardBody(buf: Buffer): number;
}
