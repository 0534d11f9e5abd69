import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import {
  FrameReader,
  send,
  startUpstream,
  wsAccept,
  wsFrame,
} from "../../test/helpers/upstreams.js";
import { cleanups, upstreams, inst, router, echoOf, raw } from "../../test/helpers/router-setup.js";

describe("router: forwarding", () => {
  it("reads a head that arrives a byte at a time, and passes 100-continue on", async () => {
    const [a] = await upstreams("a");
    const { r } = await router([{ name: "slow", domains: [], instances: [inst(a!)] }]);
    const text = "GET /slow HTTP/1.1\r\nHost: slow.localhost\r\nConnection: close\r\n\r\n";
    const got = await new Promise<string>((resolve, reject) => {
      const s = connect(r.address.port, "127.0.0.1");
      let out = "";
      s.on("data", (d: Buffer) => (out += d.toString()));
      s.on("close", () => resolve(out));
      s.on("error", reject);
      let i = 0;
      const next = (): void => {
        if (i < text.length) s.write(text[i++]!, () => setImmediate(next));
      };
      next();
    });
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    expect(got).toContain('"url":"/slow"');

    const answer = await new Promise<{ continued: boolean; body: string }>((resolve, reject) => {
      let continued = false;
      const req = request(new URL("/", r.url), {
        method: "POST",
        headers: { host: "slow.localhost", expect: "100-continue", "content-length": "5" },
      });
      req.on("continue", () => {
        continued = true;
        req.end("hello");
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ continued, body }));
      });
      req.on("error", reject);
    });
    expect(answer.continued).toBe(true);
    expect(echoOf(answer.body).body).toBe("hello");
  });

  it("adds X-Forwarded-* and a request id, and drops hop-by-hop headers both ways", async () => {
    const [a] = await upstreams("a");
    const [h] = await Promise.all([
      startUpstream("h", (_req, res) => {
        res.writeHead(200, { connection: "x-internal", "x-internal": "secret", "x-public": "1" });
        res.end("ok");
      }),
    ]);
    cleanups.push(() => h!.kill());
    const { r } = await router([
      { name: "hello", domains: [], instances: [inst(a!)] },
      { name: "hop", domains: [], instances: [inst(h!)] },
    ]);
    const host = `hello.localhost:${r.address.port}`;
    const first = echoOf((await send(r.url, { host })).body).headers;
    expect(first["x-forwarded-for"]).toBe("127.0.0.1");
    expect(first["x-forwarded-proto"]).toBe("http");
    expect(first["x-forwarded-host"]).toBe(host);
    expect(first["host"]).toBe(host);
    expect(first["x-request-id"]).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    const second = echoOf(
      (
        await send(r.url, {
          host,
          headers: {
            "x-forwarded-for": "10.1.2.3",
            "x-forwarded-proto": "https",
            "x-request-id": "my-id-1",
            connection: "keep-alive, x-secret",
            "x-secret": "s",
            "x-kept": "k",
          },
        })
      ).body,
    ).headers;
    expect(second["x-forwarded-for"]).toBe("10.1.2.3, 127.0.0.1");
    expect(second["x-forwarded-proto"]).toBe("http");
    expect(second["x-request-id"]).toBe("my-id-1");
    expect(second["x-secret"]).toBeUndefined();
    expect(second["x-kept"]).toBe("k");
    expect(first["x-request-id"]).not.toBe(
      echoOf((await send(r.url, { host })).body).headers["x-request-id"],
    );
    const hop = await send(r.url, { host: "hop.localhost" });
    expect(hop.body).toBe("ok");
    expect(hop.headers["x-public"]).toBe("1");
    expect(hop.headers["x-internal"]).toBeUndefined();
  });

  it("streams large bodies both ways", async () => {
    const size = 24 * 1024 * 1024;
    const data = randomBytes(size);
    const sha = createHash("sha256").update(data).digest("hex");
    const up = await startUpstream("big", (req, res) => {
      if (req.method === "GET") {
        // Chunked unless ?length: written in pieces, respecting backpressure.
        if (req.url === "/?length") res.setHeader("content-length", size);
        let off = 0;
        const write = (): void => {
          while (off < size) {
            const piece = data.subarray(off, (off += 256 * 1024));
            if (!res.write(piece)) return void res.once("drain", write);
          }
          res.end();
        };
        return write();
      }
      const hash = createHash("sha256");
      let n = 0;
      req.on("data", (c: Buffer) => {
        n += c.length;
        hash.update(c);
      });
      req.on("end", () => res.end(JSON.stringify({ n, sha: hash.digest("hex") })));
    });
    cleanups.push(() => up.kill());
    const { r } = await router([{ name: "big", domains: [], instances: [inst(up)] }]);

    for (const path of ["/", "/?length"]) {
      const got = await new Promise<{ n: number; sha: string; te?: string }>((resolve, reject) => {
        request(new URL(path, r.url), { headers: { host: "big.localhost" } }, (res) => {
          const hash = createHash("sha256");
          let n = 0;
          res.on("data", (c: Buffer) => {
            n += c.length;
            hash.update(c);
          });
          res.on("end", () =>
            resolve({
              n,
              sha: hash.digest("hex"),
              ...(res.headers["transfer-encoding"] ? { te: res.headers["transfer-encoding"] } : {}),
            }),
          );
        })
          .on("error", reject)
          .end();
      });
      expect(got, path).toEqual(path === "/" ? { n: size, sha, te: "chunked" } : { n: size, sha });
    }

    for (const chunked of [true, false]) {
      const answer = await new Promise<string>((resolve, reject) => {
        const req = request(
          new URL("/", r.url),
          {
            method: "POST",
            headers: chunked
              ? { host: "big.localhost" }
              : { host: "big.localhost", "content-length": String(size) },
          },
          (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString()));
            res.on("end", () => resolve(body));
          },
        );
        req.on("error", reject);
        let off = 0;
        const write = (): void => {
          while (off < size) {
            const piece = data.subarray(off, (off += 100_000));
            if (!req.write(piece)) return void req.once("drain", write);
          }
          req.end();
        };
        write();
      });
      expect(JSON.parse(answer), `chunked=${chunked}`).toEqual({ n: size, sha });
    }
  });

  it("proxies websockets", async () => {
    const [a] = await upstreams("ws");
    const { r } = await router([{ name: "chat", domains: [], instances: [inst(a!)] }]);
    const key = randomBytes(16).toString("base64");
    const { headers, socket, head } = await new Promise<{
      headers: Record<string, string | string[] | undefined>;
      socket: import("node:net").Socket;
      head: Buffer;
    }>((resolve, reject) => {
      const req = request(new URL("/socket", r.url), {
        headers: {
          host: "chat.localhost",
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-key": key,
          "sec-websocket-version": "13",
        },
      });
      req.on("upgrade", (res, socket, head) => resolve({ headers: res.headers, socket, head }));
      req.on("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on("error", reject);
      req.end();
    });
    cleanups.push(() => void socket.destroy());
    expect(headers["sec-websocket-accept"]).toBe(wsAccept(key));
    expect(headers["x-served-by"]).toBe("ws");
    const reader = new FrameReader();
    const got: string[] = reader.push(head);
    const all = new Promise<void>((resolve) => {
      socket.on("data", (d: Buffer) => {
        got.push(...reader.push(d));
        if (got.length >= 3) resolve();
      });
    });
    for (const text of ["one", "two", "x".repeat(1000)]) socket.write(wsFrame(text, true));
    await all;
    expect(got).toEqual(["ws: one", "ws: two", `ws: ${"x".repeat(1000)}`]);
  });

  it("answers pipelined requests in order on one connection", async () => {
    const [a] = await upstreams("a");
    const { r } = await router([{ name: "p", domains: [], instances: [inst(a!)] }]);
    const out = await raw(
      r.address.port,
      "GET /1 HTTP/1.1\r\nHost: p.localhost\r\n\r\n" +
        "GET /2 HTTP/1.1\r\nHost: nope.localhost\r\n\r\n" +
        "POST /3 HTTP/1.1\r\nHost: p.localhost\r\nContent-Length: 4\r\n\r\nbody" +
        "GET /4 HTTP/1.1\r\nHost: p.localhost\r\nConnection: close\r\n\r\n",
    );
    const statuses = [...out.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]);
    expect(statuses).toEqual(["200", "404", "200", "200"]);
    const urls = [...out.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual(["/1", "/3", "/4"]);
    expect(out).toContain('"body":"body"');
    expect(out).toMatch(/connection: close/i);
  });

  it("refuses ambiguous requests at the edge and closes the connection", async () => {
    const [a] = await upstreams("a");
    const { r } = await router([{ name: "s", domains: [], instances: [inst(a!)] }]);
    const out = await raw(
      r.address.port,
      "POST / HTTP/1.1\r\nHost: s.localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: s.localhost\r\n\r\n",
    );
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(out).toContain("both Content-Length and Transfer-Encoding");
    expect(out).not.toContain("smuggled");
    expect(a!.requests).toBe(0);
  });

  it("serves HTTP/1.0 and HEAD requests", async () => {
    const [a] = await upstreams("a");
    const { r } = await router([{ name: "old", domains: [], instances: [inst(a!)] }]);
    const out = await raw(r.address.port, "GET /old HTTP/1.0\r\nHost: old.localhost\r\n\r\n");
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    expect(out).toContain('"url":"/old"');
    const head = await raw(
      r.address.port,
      "HEAD / HTTP/1.1\r\nHost: old.localhost\r\n\r\nGET /after HTTP/1.1\r\nHost: old.localhost\r\nConnection: close\r\n\r\n",
    );
    const statuses = [...head.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]);
    expect(statuses).toEqual(["200", "200"]);
    expect(head).toContain('"url":"/after"');
    expect(head).not.toContain('"method":"HEAD"'); // no body for HEAD
  });
});
