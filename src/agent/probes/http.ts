import { connect as tcpConnect, type Socket } from "node:net";
import { STATUS_CODES } from "node:http";
import { connect as tlsConnect } from "node:tls";
import type { HttpExpect } from "../../model/service.js";
import { clip, type ProbeResult } from "./types.js";

const BODY_BYTES = 512;
/** Redirects followed before the last answer counts as it is (Go's http client, so Consul's). */
const MAX_REDIRECTS = 10;
/** An answer whose head is longer than this is not taken for HTTP. */
const MAX_HEAD = 16 * 1024;

/**
 * GET `url`: 2xx passes, 429 (Too Many Requests) warns, anything else — or no answer within
 * `timeoutMs` — is critical. Redirects are followed (up to 10). With `expect: "<500"` any answer
 * below 500 passes (redirects are answers, not followed). The start of the body goes into the
 * output, as in Consul.
 *
 * Each check is one HTTP/1.1 GET on a connection of its own, written and read by hand: the agent
 * runs a check per instance every second, under `gantry up` in the event loop the router serves
 * from, and node:http spent twice the CPU per check (fetch 2.5x) on request and response
 * objects nobody looks at.
 */
export async function httpProbe(
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
  expect: HttpExpect = "2xx",
): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs;
  try {
    let target = new URL(url);
    for (let hop = 0; ; hop++) {
      const a = await getOnce(target, deadline, signal);
      if (
        expect === "2xx" &&
        a.status >= 300 &&
        a.status < 400 &&
        a.location !== undefined &&
        hop < MAX_REDIRECTS
      ) {
        target = new URL(a.location, target);
        continue;
      }
      const status =
        expect === "<500"
          ? a.status < 500
            ? "passing"
            : "critical"
          : a.status >= 200 && a.status < 300
            ? "passing"
            : a.status === 429
              ? "warning"
              : "critical";
      const line = `HTTP GET ${url}: ${a.status} ${a.reason}`.trimEnd();
      return { status, output: clip(a.body === "" ? line : `${line} Output: ${a.body}`) };
    }
  } catch (err) {
    if (err instanceof TimedOut)
      return { status: "critical", output: `HTTP GET ${url}: timed out after ${timeoutMs}ms` };
    return { status: "critical", output: clip(`HTTP GET ${url}: ${(err as Error).message}`) };
  }
}

class TimedOut extends Error {}

export interface Answer {
  status: number;
  reason: string;
  location?: string;
  /** The first BODY_BYTES of the body, as text, trimmed. */
  body: string;
}

/** One GET on a connection of its own, read until the answer (or its first bytes) is in. */
function getOnce(url: URL, deadline: number, signal: AbortSignal): Promise<Answer> {
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return Promise.reject(new Error(`cannot check a ${url.protocol} URL`));
  if (signal.aborted) return Promise.reject(new Error("cancelled"));
  const tls = url.protocol === "https:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || (tls ? 443 : 80));
  const head =
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n` +
    "user-agent: gantry-agent\r\naccept: text/plain, application/json, */*\r\nconnection: close\r\n\r\n";
  return new Promise<Answer>((resolve, reject) => {
    const socket: Socket = tls
      ? tlsConnect({ host, port, ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }) })
      : tcpConnect({ host, port });
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: Error | null, answer?: Answer): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      if (err !== null) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => finish(new TimedOut()), Math.max(0, deadline - Date.now()));
    const onAbort = (): void => finish(new Error("cancelled"));
    signal.addEventListener("abort", onAbort);
    socket.once(tls ? "secureConnect" : "connect", () => socket.write(head, "latin1"));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      try {
        const answer = readAnswer(Buffer.concat(chunks, size), false);
        if (answer !== null) finish(null, answer);
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.once("end", () => {
      try {
        const answer = readAnswer(Buffer.concat(chunks, size), true);
        finish(
          answer === null ? new Error("the connection closed before an answer") : null,
          answer ?? undefined,
        );
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.once("error", (err) => finish(err));
  });
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?$/;

/**
 * The answer in `buf` once enough of it is there: its head, and the body up to BODY_BYTES (or
 * all of it when shorter); null while more is needed (`ended`: nothing more will come).
 */
export function readAnswer(buf: Buffer, ended: boolean): Answer | null {
  const headEnd = buf.indexOf("\r\n\r\n");
  if (headEnd < 0) {
    if (buf.length > MAX_HEAD || ended)
      throw new Error(ended && buf.length === 0 ? "empty answer" : "the answer is not HTTP");
    return null;
  }
  const lines = buf.toString("latin1", 0, headEnd).split("\r\n");
  const m = STATUS_LINE.exec(lines[0]!);
  if (m === null) throw new Error("the answer is not HTTP");
  const status = Number(m[1]);
  let location: string | undefined;
  let length = -1;
  let chunked = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "location") location = value;
    else if (name === "content-length") length = Number(value);
    else if (name === "transfer-encoding") chunked = /(^|,)\s*chunked\s*$/i.test(value);
  }
  const raw = buf.subarray(headEnd + 4);
  const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
  let body: Buffer;
  let complete: boolean;
  if (noBody) [body, complete] = [Buffer.alloc(0), true];
  else if (chunked) [body, complete] = dechunk(raw);
  else if (length >= 0) [body, complete] = [raw.subarray(0, length), raw.length >= length];
  else [body, complete] = [raw, false]; // until the connection closes
  if (!complete && !ended && body.length < BODY_BYTES) return null;
  return {
    status,
    reason: m[2] ?? STATUS_CODES[status] ?? "",
    ...(location === undefined ? {} : { location }),
    body: body.subarray(0, BODY_BYTES).toString("utf8").trim(),
  };
}

/** The data of the chunks in `raw` so far, and whether the last (empty) chunk was among them. */
function dechunk(raw: Buffer): [Buffer, boolean] {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = raw.indexOf("\r\n", pos);
    if (eol < 0) return [Buffer.concat(parts), false];
    const n = parseInt(raw.toString("latin1", pos, eol), 16);
    if (Number.isNaN(n)) throw new Error("the answer's chunked body is malformed");
    if (n === 0) return [Buffer.concat(parts), true];
    parts.push(raw.subarray(eol + 2, Math.min(raw.length, eol + 2 + n)));
    pos = eol + 2 + n + 2;
    if (pos > raw.length) return [Buffer.concat(parts), false];
  }
}
