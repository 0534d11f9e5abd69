/**
 * An app instance for edge tests that records exactly the bytes the router forwarded, and reads
 * them with its own strict HTTP/1.1 parser: any message whose framing could be read two ways
 * (both or neither of a single Content-Length and Transfer-Encoding: chunked, duplicates, odd
 * header syntax) is counted as ambiguous. Each complete request gets `200` with body `up:<n>`.
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";

export interface RecordingUpstream {
  port: number;
  /** Every byte received, per accepted connection, in order. */
  received: Buffer[][];
  /** Complete requests parsed so far. */
  requests: number;
  /** One line per forwarded message that was ambiguous or malformed. */
  ambiguous: string[];
  /** All bytes received on all connections, as latin1. */
  all(): string;
  /** Forget what was received so far (connections stay). */
  clear(): void;
  close(): Promise<void>;
}

const HEADER = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/;
const REQUEST_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e\x80-\xff]+ HTTP\/1\.[01]$/;

type Parsed =
  | { kind: "need" }
  | { kind: "bad"; why: string }
  | { kind: "ok"; size: number; head: string };

/** Parse one request at the start of `buf` with no tolerance at all. */
export function strictRequest(buf: Buffer): Parsed {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return { kind: "need" };
  const head = buf.toString("latin1", 0, end);
  const lines = head.split("\r\n");
  if (!REQUEST_LINE.test(lines[0]!)) return { kind: "bad", why: `request line ${lines[0]}` };
  let cl: string[] = [];
  let te: string[] = [];
  for (const line of lines.slice(1)) {
    if (!HEADER.test(line)) return { kind: "bad", why: `header line ${JSON.stringify(line)}` };
    const name = line.slice(0, line.indexOf(":")).toLowerCase();
    const value = line.slice(line.indexOf(":") + 1).trim();
    if (name === "content-length") cl = [...cl, value];
    if (name === "transfer-encoding") te = [...te, value];
  }
  if (cl.length > 1 || te.length > 1 || (cl.length > 0 && te.length > 0))
    return { kind: "bad", why: `framing CL=${cl.join("|")} TE=${te.join("|")}` };
  let pos = end + 4;
  if (te.length === 1) {
    if (te[0] !== "chunked") return { kind: "bad", why: `TE ${te[0]}` };
    for (;;) {
      const eol = buf.indexOf("\r\n", pos);
      if (eol < 0) return { kind: "need" };
      const m = /^([0-9a-fA-F]{1,12})(?:[;\t ][\t\x20-\x7e]*)?$/.exec(
        buf.toString("latin1", pos, eol),
      );
      if (m === null) return { kind: "bad", why: "chunk size line" };
      const size = parseInt(m[1]!, 16);
      pos = eol + 2;
      if (size === 0) {
        for (;;) {
          const t = buf.indexOf("\r\n", pos);
          if (t < 0) return { kind: "need" };
          const line = buf.toString("latin1", pos, t);
          pos = t + 2;
          if (line === "") return { kind: "ok", size: pos, head };
          if (!HEADER.test(line)) return { kind: "bad", why: "trailer line" };
        }
      }
      if (buf.length < pos + size + 2) return { kind: "need" };
      if (buf[pos + size] !== 13 || buf[pos + size + 1] !== 10)
        return { kind: "bad", why: "chunk data" };
      pos += size + 2;
    }
  }
  if (cl.length === 1) {
    if (!/^\d+$/.test(cl[0]!)) return { kind: "bad", why: `CL ${cl[0]}` };
    pos += Number(cl[0]);
    if (buf.length < pos) return { kind: "need" };
  }
  return { kind: "ok", size: pos, head };
}

/** Start the recording upstream on a free loopback port. */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const sockets = new Set<Socket>();
  const up: RecordingUpstream = {
    port: 0,
    received: [],
    requests: 0,
    ambiguous: [],
    all: () => up.received.map((conn) => Buffer.concat(conn).toString("latin1")).join(""),
    clear: () => {
      for (const conn of up.received) conn.length = 0;
      up.requests = 0;
      up.ambiguous.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    const log: Buffer[] = [];
    up.received.push(log);
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      log.push(chunk);
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const r = strictRequest(pending);
        if (r.kind === "need") return;
        if (r.kind === "bad") {
          up.ambiguous.push(`${r.why} in ${JSON.stringify(pending.toString("latin1", 0, 300))}`);
          socket.destroy();
          return;
        }
        pending = pending.subarray(r.size);
        up.requests++;
        const body = `up:${up.requests}`;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nx-up: 1\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  up.port = (server.address() as AddressInfo).port;
  return up;
}
