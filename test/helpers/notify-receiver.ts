/**
 * A webhook receiver on loopback for the notification tests: it records every request (path,
 * headers, body, time) and answers by a per-path script (e.g. 500, 500, then 200).
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  /** The request's path without its query. */
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: Record<string, unknown>;
  at: number;
  /** What it was answered. */
  status: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests to `path`. */
  at(path: string): Received[];
  /** Answer the next requests to `path` with these statuses (then 200); 0: never answer. */
  script(path: string, statuses: number[]): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const scripts = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const status = scripts.get(path)?.shift() ?? 200;
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
      } catch {
        // recorded as {}: the test's assertions on fields then fail
      }
      received.push({ path, headers: req.headers, raw, body, at: Date.now(), status });
      if (status === 0) return; // never answers
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status === 200 ? "ok" : "no");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    at: (path) => received.filter((r) => r.path === path),
    script: (path, statuses) => scripts.set(path, [...statuses]),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
