/**
 * A raw-socket HTTP client for edge tests: sends exact bytes and reports exactly what came back
 * and whether the server closed the connection, plus a strict reader of the answers.
 */
import { connect } from "node:net";

export interface RawResult {
  /** Everything received, as latin1. */
  data: string;
  /** The server ended or reset the connection (rather than the wait running out). */
  closed: boolean;
  /** ms from the first write to the close (or to the end of the wait). */
  ms: number;
}

/**
 * Write `parts` (with `gapMs` between them), then read until the server closes the connection or
 * `waitMs` passes with it still open. `end`: half-close after the last part.
 */
export function rawExchange(
  port: number,
  parts: (string | Buffer)[],
  opts: { waitMs?: number; gapMs?: number; end?: boolean } = {},
): Promise<RawResult> {
  const waitMs = opts.waitMs ?? 3000;
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    const started = Date.now();
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks).toString("latin1"), closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => finish(true));
    s.on("close", () => finish(true));
    s.on("error", () => finish(true));
    let i = 0;
    const next = (): void => {
      if (done || s.destroyed) return;
      if (i < parts.length) {
        const part = parts[i++]!;
        s.write(typeof part === "string" ? Buffer.from(part, "latin1") : part);
        if (opts.gapMs !== undefined && opts.gapMs > 0) setTimeout(next, opts.gapMs);
        else next();
      } else if (opts.end === true) s.end();
    };
    s.on("connect", next);
  });
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Read `data` as a sequence of complete HTTP/1.1 responses framed by Content-Length (what the
 * router and the recording upstream send). Returns null when any part is malformed or cut off.
 */
export function readAnswers(data: string): Answer[] | null {
  const out: Answer[] = [];
  let pos = 0;
  while (pos < data.length) {
    const end = data.indexOf("\r\n\r\n", pos);
    if (end < 0) return null;
    const lines = data.slice(pos, end).split("\r\n");
    const m = /^HTTP\/1\.1 ([1-5]\d\d) [^\r\n]*$/.exec(lines[0]!);
    if (m === null) return null;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const c = line.indexOf(":");
      if (c <= 0 || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(line.slice(0, c))) return null;
      const name = line.slice(0, c).toLowerCase();
      if (name in headers) return null;
      headers[name] = line.slice(c + 1).trim();
    }
    const len = headers["content-length"];
    if (len === undefined || !/^\d+$/.test(len)) return null;
    const bodyStart = end + 4;
    if (data.length < bodyStart + Number(len)) return null;
    out.push({
      status: Number(m[1]),
      headers,
      body: data.slice(bodyStart, bodyStart + Number(len)),
    });
    pos = bodyStart + Number(len);
  }
  return out;
}
