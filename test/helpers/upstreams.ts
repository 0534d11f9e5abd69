/**
 * Real HTTP servers on loopback standing in for app instances behind the router, and a small
 * HTTP client for tests that need to see exactly what came back.
 */
import { createHash } from "node:crypto";
import {
  Agent,
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Upstream {
  name: string;
  port: number;
  server: Server;
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests answered so far. */
  requests: number;
  /** Stop listening and drop every connection at once (like a SIGKILLed app). */
  kill(): Promise<void>;
}

/** What the default handler answers: who served the request and what it saw. */
export interface Echo {
  name: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, up: Upstream) => void;

const echo: Handler = (req, res, up) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body: Echo = {
      name: up.name,
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
};

/** An app instance: by default it answers every request with an Echo; websockets echo frames. */
export async function startUpstream(name: string, handler: Handler = echo): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const server = createServer();
  const up: Upstream = {
    name,
    port: 0,
    server,
    connections: 0,
    requests: 0,
    kill: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    up.requests++;
    handler(req, res, up);
  });
  server.on("connection", (s: Socket) => {
    up.connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    sockets.add(socket);
    const key = req.headers["sec-websocket-key"] ?? "";
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${wsAccept(key)}\r\nX-Served-By: ${name}\r\n\r\n`,
    );
    const frames = new FrameReader();
    const onData = (data: Buffer): void => {
      for (const text of frames.push(data)) socket.write(wsFrame(`${name}: ${text}`, false));
    };
    if (head.length > 0) onData(head);
    socket.on("data", onData);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  up.port = (server.address() as AddressInfo).port;
  return up;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request to the router with a Host header; the whole answer as text. */
export function send(
  url: string,
  opts: {
    host: string;
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    agent?: Agent;
  },
): Promise<Answer> {
  const target = new URL(opts.path ?? "/", url);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: opts.method ?? "GET",
        headers: { host: opts.host, ...(opts.headers ?? {}) },
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

// --- a minimal websocket (RFC 6455) for echo tests: text frames only, no fragmentation -------

export function wsAccept(key: string): string {
  return createHash("sha1")
    .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
    .digest("base64");
}

/** One text frame; clients must mask theirs. */
export function wsFrame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text);
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([0x81, (mask ? 0x80 : 0) | len])
      : Buffer.from([0x81, (mask ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([head, key, masked]);
}

/** Splits a byte stream into text frames (masked or not). */
export class FrameReader {
  private buf = Buffer.alloc(0);

  push(data: Buffer): string[] {
    this.buf = Buffer.concat([this.buf, data]);
    const out: string[] = [];
    for (;;) {
      if (this.buf.length < 2) return out;
      const masked = (this.buf[1]! & 0x80) !== 0;
      let len = this.buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return out;
        len = this.buf.readUInt16BE(2);
        off = 4;
      }
      const need = off + (masked ? 4 : 0) + len;
      if (this.buf.length < need) return out;
      let payload = this.buf.subarray(off + (masked ? 4 : 0), need);
      if (masked) {
        const key = this.buf.subarray(off, off + 4);
        payload = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
      }
      out.push(payload.toString());
      this.buf = this.buf.subarray(need);
    }
  }
}
