/**
 * Just enough HTTP/1.x for a byte-forwarding proxy: strict request-head parsing (the router is
 * the public edge, so anything ambiguous about framing is refused — RFC 9112 §6.3 and the
 * request-smuggling cases) and response-head parsing; chunked framing (find where a message
 * ends without decoding it) is in chunked.ts.
 *
 * Why not node:http: parsing into IncomingMessage objects, copying headers into objects and
 * serializing them again through ClientRequest/ServerResponse costs about 3x the CPU of
 * forwarding the bytes (see docs/router.md for the measurements). Heads here are parsed from one
 * latin1 string with one validating regex; bodies are never copied.
 */

/** Longest request or response head accepted (Node's default is 16 KB too). */
export const MAX_HEAD = 16 * 1024;

/** A bad message: `status` is what to answer the client (400, 431, 501, 505) or 502 upstream. */
export class HeadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestHead {
  method: string;
  /** origin-form (an absolute-form target is reduced to its path; its host becomes `host`). */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** The Host header as sent ("" when absent). */
  host: string;
  /** -1 when there is no Content-Length. */
  contentLength: number;
  chunked: boolean;
  /** The client wants the connection kept after this exchange. */
  keepAlive: boolean;
  /** The protocol asked for by `Connection: upgrade` + `Upgrade: X` ("" otherwise). */
  upgrade: string;
  requestId: string;
  forwardedFor: string;
  /** Accept header (for choosing an HTML or a text error page). */
  accept: string;
  /** End-to-end header lines to forward, each ending in CRLF (no framing, no hop-by-hop). */
  lines: string;
  /** Bytes of the head, including the empty line (and any CRLFs before the request line). */
  size: number;
}

export interface ResponseHead {
  status: number;
  /** The status line rewritten to HTTP/1.1, then the kept header lines, each ending in CRLF. */
  head: string;
  contentLength: number;
  chunked: boolean;
  /** The upstream will close the connection after this response. */
  close: boolean;
  size: number;
}

const CRLF2 = Buffer.from("\r\n\r\n");

/**
 * Header lines between the start line and the empty line: token names, no space before the colon,
 * values of visible characters, spaces, tabs and obs-text; every line ends in CRLF. This one test
 * refuses bare CR or LF, obs-fold, NULs and other control characters.
 */
const HEADER_BLOCK = /^(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r\n)*$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e\x80-\xff]+) HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/;
const DIGITS = /^\d{1,15}$/;
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * Parse a request head at the start of `buf` (leading empty lines are skipped). Returns null when
 * the head is not complete yet; throws HeadError for a request that must be refused.
 */
export function parseRequestHead(buf: Buffer): RequestHead | null {
  let start = 0;
  while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2;
  const end = buf.indexOf(CRLF2, start);
  if (end < 0) {
    if (buf.length > MAX_HEAD) throw new HeadError(431, "the request head is too large");
    return null;
  }
  if (end - start > MAX_HEAD) throw new HeadError(431, "the request head is too large");
  const text = buf.toString("latin1", start, end + 2);
  const eol = text.indexOf("\r\n");
  const m = REQUEST_LINE.exec(text.slice(0, eol));
  if (m === null) {
    if (/ HTTP\/\d\.\d$/.test(text.slice(0, eol)) && !/ HTTP\/1\.[01]$/.test(text.slice(0, eol)))
      throw new HeadError(505, "only HTTP/1.0 and HTTP/1.1 are supported");
    throw new HeadError(400, "malformed request line");
  }
  const block = text.slice(eol + 2);
  if (!HEADER_BLOCK.test(block)) throw new HeadError(400, "malformed header line");

  const req: RequestHead = {
    method: m[1]!,
    target: m[2]!,
    minor: m[3] === "1" ? 1 : 0,
    host: "",
    contentLength: -1,
    chunked: false,
    keepAlive: m[3] === "1",
    upgrade: "",
    requestId: "",
    forwardedFor: "",
    accept: "",
    lines: "",
    size: end + 4,
  };
  let hosts = 0;
  let connection = "";
  let upgrade = "";
  let transferEncoding: string | undefined;
  let lines = "";
  for (let pos = 0; pos < block.length; ) {
    const next = block.indexOf("\r\n", pos);
    const colon = block.indexOf(":", pos);
    const name = block.slice(pos, colon);
    // Most headers are forwarded untouched; only a few names (by length, then by value) matter.
    switch (name.length) {
      case 2: // te
      case 7: // upgrade
      case 4: // host
      case 6: // accept
      case 10: // connection, keep-alive
      case 12: // x-request-id
      case 14: // content-length
      case 15: // x-forwarded-for
      case 16: // proxy-connection, x-forwarded-host
      case 17: {
        // transfer-encoding, x-forwarded-proto
        const lower = name.toLowerCase();
        const value = block.slice(colon + 1, next).trim();
        switch (lower) {
          case "host":
            hosts++;
            req.host = value;
            lines += block.slice(pos, next + 2);
            break;
          case "content-length":
            if (!DIGITS.test(value)) throw new HeadError(400, "invalid Content-Length");
            // Even equal duplicates are refused, as nginx does: one framing header, stated once.
            if (req.contentLength >= 0) throw new HeadError(400, "more than one Content-Length");
            req.contentLength = Number(value);
            break;
          case "transfer-encoding":
            transferEncoding =
              transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
            break;
          case "connection":
            connection = connection === "" ? value : `${connection}, ${value}`;
            break;
          case "upgrade":
            upgrade = value;
            break;
          case "x-request-id":
            if (REQUEST_ID.test(value)) req.requestId = value;
            break;
          case "x-forwarded-for":
            req.forwardedFor = req.forwardedFor === "" ? value : `${req.forwardedFor}, ${value}`;
            break;
          case "accept":
            req.accept = value;
            lines += block.slice(pos, next + 2);
            break;
          case "te":
          case "keep-alive":
          case "proxy-connection":
          case "x-forwarded-host":
          case "x-forwarded-proto":
            break; // hop-by-hop, or set by the router itself
          default:
            lines += block.slice(pos, next + 2);
        }
        break;
      }
      default:
        lines += block.slice(pos, next + 2);
    }
    pos = next + 2;
  }

  if (hosts > 1) throw new HeadError(400, "more than one Host header");
  if (hosts === 0 && req.minor === 1)
    throw new HeadError(400, "HTTP/1.1 requests need a Host header");
  if (transferEncoding !== undefined) {
    // Only plain `chunked` is accepted: other codings cannot be framed, and together with a
    // Content-Length it is the classic smuggling vector.
    if (req.minor === 0) throw new HeadError(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (transferEncoding.toLowerCase() !== "chunked")
      throw new HeadError(501, `Transfer-Encoding "${transferEncoding}" is not supported`);
    if (req.contentLength >= 0)
      throw new HeadError(400, "both Content-Length and Transfer-Encoding");
    req.chunked = true;
  }
  if (connection !== "") {
    const tokens = connection.toLowerCase().split(",");
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!.trim();
      if (t === "close") req.keepAlive = false;
      else if (t === "keep-alive") req.keepAlive = true;
      else if (t === "upgrade") req.upgrade = upgrade;
      else if (t !== "" && t !== "host") lines = dropHeader(lines, t);
    }
  }
  if (req.target.charCodeAt(0) !== 47 /* / */) absoluteForm(req);
  req.lines = lines;
  return req;
}

/** RFC 9112 §3.2.2: an absolute-form target names the host; forward its origin-form. */
function absoluteForm(req: RequestHead): void {
  if (req.target === "*" && req.method === "OPTIONS") return;
  const m = /^http:\/\/([^/?#@]+)([/?][^#]*)?$/i.exec(req.target);
  if (m === null) throw new HeadError(400, "the request target must be a path");
  req.host = m[1]!;
  const rest = m[2] ?? "/";
  req.target = rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest;
}

/** Remove every line of header `lower` (a name listed in Connection is hop-by-hop). */
function dropHeader(lines: string, lower: string): string {
  let out = "";
  for (let pos = 0; pos < lines.length; ) {
    const next = lines.indexOf("\r\n", pos) + 2;
    const colon = lines.indexOf(":", pos);
    if (lines.slice(pos, colon).toLowerCase() !== lower) out += lines.slice(pos, next);
    pos = next;
  }
  return out;
}

/**
 * Parse a response head at `start` of `buf`. `upgrade`: the request asked to switch protocols, so
 * a 101 keeps its Upgrade header. Returns null when incomplete; throws HeadError(502) when the
 * upstream answered something that cannot be forwarded safely.
 */
export function parseResponseHead(
  buf: Buffer,
  start: number,
  upgrade: boolean,
): ResponseHead | null {
  const end = buf.indexOf(CRLF2, start);
  if (end < 0) {
    if (buf.length - start > MAX_HEAD) throw new HeadError(502, "the response head is too large");
    return null;
  }
  const text = buf.toString("latin1", start, end + 2);
  const eol = text.indexOf("\r\n");
  const statusLine = text.slice(0, eol);
  const m = STATUS_LINE.exec(statusLine);
  if (m === null) throw new HeadError(502, "malformed status line");
  const block = text.slice(eol + 2);
  if (!HEADER_BLOCK.test(block)) throw new HeadError(502, "malformed header line");
  const status = Number(m[2]);
  const http10 = m[1] === "0";
  let close = false;
  let keepAlive = false;
  let contentLength = -1;
  let chunked = false;
  let transferEncoding = false;
  let connection = "";
  let head = m[1] === "1" ? statusLine + "\r\n" : "HTTP/1.1" + statusLine.slice(8) + "\r\n";
  for (let pos = 0; pos < block.length; ) {
    const next = block.indexOf("\r\n", pos);
    const colon = block.indexOf(":", pos);
    const len = colon - pos;
    if (len === 10 || len === 14 || len === 16 || len === 17 || len === 7 || len === 2) {
      const lower = block.slice(pos, colon).toLowerCase();
      const value = block.slice(colon + 1, next).trim();
      if (lower === "content-length") {
        if (!DIGITS.test(value)) throw new HeadError(502, "invalid Content-Length from the app");
        if (contentLength >= 0 && contentLength !== Number(value))
          throw new HeadError(502, "conflicting Content-Length headers from the app");
        contentLength = Number(value);
      } else if (lower === "transfer-encoding") {
        // Forwarded as is: the chunks themselves are forwarded unchanged.
        transferEncoding = true;
        chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
        head += block.slice(pos, next + 2);
      } else if (lower === "connection") {
        connection = connection === "" ? value : `${connection}, ${value}`;
      } else if (lower === "upgrade") {
        if (upgrade && status === 101) head += block.slice(pos, next + 2);
      } else if (lower !== "keep-alive" && lower !== "proxy-connection" && lower !== "te") {
        head += block.slice(pos, next + 2);
      }
    } else {
      head += block.slice(pos, next + 2);
    }
    pos = next + 2;
  }
  if (connection !== "") {
    const tokens = connection.toLowerCase().split(",");
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!.trim();
      if (t === "close") close = true;
      else if (t === "keep-alive") keepAlive = true;
      else if (t !== "" && t !== "upgrade") head = dropHeader(head, t);
    }
  }
  if (http10 && !keepAlive) close = true;
  // A body framed by Transfer-Encoding ignores Content-Length (RFC 9112 §6.3): drop it.
  if (transferEncoding) contentLength = -1;
  else if (contentLength >= 0) head += `content-length: ${contentLength}\r\n`;
  return { status, head, contentLength, chunked, close, size: end + 4 - start };
}

/** Idempotent methods may be sent again after a connection broke without an answer. */
export function idempotent(method: string): boolean {
  return (
    method === "GET" ||
    method === "HEAD" ||
    method === "OPTIONS" ||
    method === "PUT" ||
    method === "DELETE" ||
    method === "TRACE"
  );
}
