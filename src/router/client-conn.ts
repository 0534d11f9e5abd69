import { challengeToken } from "./acme-challenge.js";
import { missAnswer, noInstanceAnswer } from "./answers.js";
import { ChunkedFramer } from "./chunked.js";
import {
  HeadError,
  idempotent,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "./http1.js";
import { CLOSED, ClientSide, EXCHANGE, HEAD, TUNNEL } from "./client-side.js";
import { ACME_CHALLENGE_PREFIX, redirectResponse, setsHsts } from "./https-redirect.js";
import { pickBackend } from "./table.js";
import type { Backend, UpstreamConn, UpstreamOwner } from "./upstream.js";

/** Request bodies up to this size are kept until the answer starts, so they can be sent again. */
const MAX_REPLAY = 64 * 1024;

const RES_HEAD = 0;
const RES_BODY = 1;

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const BODY_CLOSE = 3;

/** One client connection and the exchange in flight on it (one at a time, in order). */
export class ClientConn extends ClientSide implements UpstreamOwner {
  private upHead = "";
  private attempts = 0;
  private failed: Set<Backend> | null = null;
  private reqLeft = 0;
  private reqFramer: ChunkedFramer | null = null;
  private replayBytes = 0;
  private resStarted = false;
  private resPhase = RES_HEAD;
  private resBuf: Buffer | null = null;
  private resMode = BODY_NONE;
  private resLeft = 0;
  private resFramer: ChunkedFramer | null = null;
  private upReusable = false;

  // --- a request -----------------------------------------------------------------------------

  protected begin(req: RequestHead): void {
    // First, before routing and redirects: the CA asks over plain HTTP for any host.
    const challenge = this.proto === "http" ? challengeToken(req) : undefined;
    if (challenge !== undefined && this.proxy.challenges !== undefined)
      return this.answerChallenge(req, challenge);
    this.req = req;
    this.requestId = req.requestId !== "" ? req.requestId : this.proxy.nextRequestId();
    const hasBody = req.chunked || req.contentLength > 0;
    const route = this.proxy.table.route(req.host);
    if (route?.redirect === true && this.proto === "http" && this.redirect(req, hasBody)) return;
    if (route === undefined || route.backends.length === 0) {
      const a =
        route === undefined
          ? missAnswer(this.proxy.table.miss(req.host), this.proxy.domain)
          : noInstanceAnswer(route.app);
      this.route = route ?? null;
      this.respond(a.status, a.message, a.hint, req.keepAlive && !hasBody, req.accept);
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

  /** A 308 to HTTPS when the host redirects (never an ACME challenge); false to serve it here. */
  private redirect(req: RequestHead, hasBody: boolean): boolean {
    if (req.target.startsWith(ACME_CHALLENGE_PREFIX)) return false;
    const base = this.proxy.table.redirect(req.host);
    if (base === undefined) return false;
    const path = req.target === "*" ? "/" : req.target;
    // A body is not read: the connection closes after the answer, as for the router's 404s.
    const close = this.closesAfterOwn(req.keepAlive && !hasBody);
    this.sendOwn(redirectResponse(base + path, this.requestId, close), close);
    return true;
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
  protected forwardBody(buf: Buffer): number {
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
    // HSTS only over HTTPS (RFC 6797 §7.2); an app that sets its own keeps it.
    const hsts = this.proto === "https" ? this.route!.hsts : null;
    const lines = hsts !== null && !setsHsts(head.head) ? head.head + hsts : head.head;
    return this.closeAfter ? lines + "connection: close\r\n\r\n" : lines + "\r\n";
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
}
