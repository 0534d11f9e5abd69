import { spawn } from "node:child_process";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppsClient } from "./apps.js";
import { GantryClient } from "./client.js";
import { ApiError, ConnectError } from "./errors.js";
import { nodeTransport } from "./transport.js";

let server: Server;
let base: string;
const sockets = new Set<Socket>();
/** Remote ports of the connections that carried each request, in order. */
const ports: number[] = [];
/** Held streams: the test ends them. */
const held: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    ports.push(req.socket.remotePort!);
    const url = new URL(req.url!, "http://x");
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (url.pathname === "/echo") {
        res.writeHead(200, { "content-type": "application/json", "x-gantry-index": "42" });
        res.end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization }));
      } else if (url.pathname === "/missing") {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "not_found", message: "no such thing" } }));
      } else if (url.pathname === "/slow") {
        setTimeout(() => res.end("late"), 5000).unref();
      } else if (url.pathname === "/v1/apps/web/builds") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write(`building ${body.length} bytes\n`);
        held.push(res);
      } else if (url.pathname === "/stream") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("first\n");
        held.push(res);
      } else if (url.pathname === "/close-after") {
        // Answer, then close the kept-alive connection a moment later (as a server's idle
        // timeout does): the next request may be sent on it just as it closes.
        res.end("ok");
        setTimeout(() => req.socket.destroy(), 20);
      } else res.end("ok");
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const r of held) r.end();
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

describe("nodeTransport", () => {
  it("sends the method, headers and body, and reads the whole answer", async () => {
    const res = await nodeTransport(new URL(`${base}/echo`), {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: '{"a":"é"}',
    });
    expect(res.ok).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Gantry-Index")).toBe("42");
    expect(res.headers.get("x-absent")).toBeNull();
    expect(await res.json()).toEqual({ method: "POST", body: '{"a":"é"}', auth: "Bearer t" });
    const chunks: Uint8Array[] = [];
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toMatchObject({ method: "POST" });
  });

  it("keeps the connection alive between requests", async () => {
    ports.length = 0;
    for (let i = 0; i < 3; i++) await (await nodeTransport(new URL(`${base}/x`), get())).text();
    expect(new Set(ports).size).toBe(1);
  });

  it("sends a GET again when the kept-alive connection closes under it", async () => {
    for (let i = 0; i < 10; i++) {
      await nodeTransport(new URL(`${base}/close-after`), get());
      await new Promise((r) => setTimeout(r, 20 + (i % 3)));
      expect(await (await nodeTransport(new URL(`${base}/x`), get())).text()).toBe("ok");
    }
  });

  it("rejects with an AbortError when aborted", async () => {
    const ac = new AbortController();
    const p = nodeTransport(new URL(`${base}/slow`), { ...get(), signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ name: "AbortError" });
  });

  it("lets the process end as soon as its work is done (idle sockets are not held)", async () => {
    const script = `import { nodeTransport } from ${JSON.stringify(resolve(import.meta.dirname, "transport.ts"))};
const res = await nodeTransport(new URL(${JSON.stringify(`${base}/x`)}), { method: "GET", headers: {} });
console.log(await res.text());`;
    const start = Date.now();
    const out = await new Promise<string>((done, fail) => {
      const p = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let text = "";
      p.stdout.on("data", (c: Buffer) => (text += c.toString()));
      p.on("error", fail);
      p.on("close", () => done(text));
    });
    expect(out.trim()).toBe("ok");
    // The server keeps idle connections for 60 s: a held socket would keep the child that long.
    expect(Date.now() - start).toBeLessThan(20_000);
  }, 30_000);
});

describe("GantryClient over node:http", () => {
  it("answers JSON, and turns an error answer into ApiError with the server's code", async () => {
    const c = new GantryClient({ addr: base, token: "tok" });
    expect(await c.json("PUT", "/echo", { body: { k: 1 } })).toEqual({
      method: "PUT",
      body: '{"k":1}',
      auth: "Bearer tok",
    });
    const err = await c.json("GET", "/missing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: "not_found", message: "no such thing" });
  });

  it("says the server cannot be reached when nothing listens", async () => {
    const c = new GantryClient({ addr: "http://127.0.0.1:1" });
    await expect(c.health()).rejects.toBeInstanceOf(ConnectError);
  });

  it("streams a `stream` answer as it arrives", async () => {
    const c = new GantryClient({ addr: base });
    const res = await c.request("GET", "/stream", { stream: true });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toBe("first\n");
    held.shift()!.end("second\n");
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += Buffer.from(r.value).toString();
    expect(rest).toBe("second\n");
  });
});

describe("streamed answers of the apps client", () => {
  it("hands a build's lines over as they come, not at its end", async () => {
    const lines: string[] = [];
    const upload = new AppsClient(new GantryClient({ addr: base })).upload(
      "web",
      new Uint8Array(10),
      { onLine: (l) => lines.push(l) },
    );
    for (let i = 0; i < 500 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lines).toEqual(["building 10 bytes"]);
    held.shift()!.end('gantry:result {"ok":true,"release":3}\n');
    expect(await upload).toMatchObject({ ok: true, release: 3 });
  });
});

function get(): { method: string; headers: Record<string, string> } {
  return { method: "GET", headers: {} };
}
