import { createHash, randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  FrameReader,
  send,
  startUpstream,
  wsAccept,
  wsFrame,
  type Echo,
  type Upstream,
} from "../../test/helpers/upstreams.js";
import { freePort } from "../../test/helpers/ports.js";
import { startRouter, type RunningRouter } from "./router.js";
import { StaticRouteSource, type AppRoute } from "./source.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function upstreams(...names: string[]): Promise<Upstream[]> {
  const ups = await Promise.all(names.map((n) => startUpstream(n)));
  for (const u of ups) cleanups.push(() => u.kill());
  return ups;
}

const inst = (u: Upstream) => ({ address: "127.0.0.1", port: u.port });

async function router(
  apps: AppRoute[],
  opts: { workers?: number; log?: (line: string) => void } = {},
): Promise<{ r: RunningRouter; source: StaticRouteSource; logs: string[] }> {
  const source = new StaticRouteSource({ apps });
  const logs: string[] = [];
  const r = await startRouter({
    listen: { host: "127.0.0.1", port: 0 },
    source,
    log: opts.log ?? ((line) => logs.push(line)),
    ...(opts.workers === undefined ? {} : { workers: opts.workers }),
  });
  cleanups.push(() => r.close());
  return { r, source, logs };
}

const echoOf = (body: string): Echo => JSON.parse(body) as Echo;

/** Raw bytes in, everything the router sends back until it closes (or `until` matches). */
function raw(port: number, text: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => {
      s.destroy();
      resolve(got);
    }, 5000);
    s.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (until?.test(got)) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on("error", reject);
    s.write(text);
  });
}

describe("router", () => {
  it("routes by Host (any case, any port) and by custom domain", async () => {
    const [a, b] = await upstreams("a", "b");
    const { r } = await router([
      { name: "hello", domains: ["www.example.com"], instances: [inst(a!)] },
      { name: "other", domains: [], instances: [inst(b!)] },
    ]);
    for (const host of ["hello.localhost", "Hello.LocalHost:8080", "www.example.com"]) {
      const res = await send(r.url, { host, path: "/x?y=1" });
      expect(res.status, host).toBe(200);
      expect(echoOf(res.body)).toMatchObject({ name: "a", url: "/x?y=1" });
    }
    expect(echoOf((await send(r.url, { host: "other.localhost" })).body).name).toBe("b");
  });

  it("answers 404 for an unknown app or host and 503 without a passing instance", async () => {
    const { r } = await router([{ name: "empty", domains: [], instances: [] }]);
    const noApp = await send(r.url, { host: "nope.localhost" });
    expect(noApp.status).toBe(404);
    expect(noApp.headers["content-type"]).toMatch(/^text\/plain/);
    expect(noApp.body).toContain("no app named nope");
    const noHost = await send(r.url, { host: "example.org", headers: { accept: "text/html" } });
    expect(noHost.status).toBe(404);
    expect(noHost.headers["content-type"]).toMatch(/^text\/html/);
    expect(noHost.body).toContain("<h1>404 no app for host example.org</h1>");
    const empty = await send(r.url, { host: "empty.localhost", headers: { accept: "text/html" } });
    expect(empty.status).toBe(503);
    expect(empty.body).toContain("no passing instance of app empty");
    expect(empty.headers["x-request-id"]).toBeTruthy();
  });

  it("goes round-robin over the instances and keeps connections to them alive", async () => {
    const ups = await upstreams("a", "b", "c");
    const { r } = await router([{ name: "rr", domains: [], instances: ups.map(inst) }]);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const served: string[] = [];
    for (let i = 0; i < 30; i++)
      served.push(echoOf((await send(r.url, { host: "rr.localhost", agent })).body).name);
    expect(served.slice(0, 6)).toEqual(["a", "b", "c", "a", "b", "c"]);
    expect(ups.map((u) => u.requests)).toEqual([10, 10, 10]);
    // Sequential requests reuse one pooled connection per instance.
    expect(ups.map((u) => u.connections)).toEqual([1, 1, 1]);
  });

  it("retries on the other instance when one is killed: no request fails", async () => {
    const [a, b] = await upstreams("a", "b");
    const { r } = await router([{ name: "ha", domains: [], instances: [inst(a!), inst(b!)] }]);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    cleanups.push(() => agent.destroy());
    let ok = 0;
    const failures: string[] = [];
    let killing = false;
    let killed = false;
    const servedAfterKill = new Set<string>();
    const loop = async (): Promise<void> => {
      while (ok + failures.length < 1500) {
        const after = killed;
        try {
          const res = await send(r.url, { host: "ha.localhost", agent });
          if (res.status !== 200) failures.push(`${res.status} ${res.body}`);
          else {
            ok++;
            if (after) servedAfterKill.add(echoOf(res.body).name);
          }
        } catch (err) {
          failures.push(String(err));
        }
        if (ok >= 300 && !killing) {
          killing = true;
          await a!.kill(); // while the other loops keep sending
          killed = true;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, loop));
    expect(failures).toEqual([]);
    expect(killed).toBe(true);
    expect(a!.requests).toBeGreaterThan(50);
    expect([...servedAfterKill]).toEqual(["b"]);
  });

  it("answers 502 when no instance can be reached", async () => {
    const dead = [await freePort(), await freePort()];
    const { r, logs } = await router([
      {
        name: "gone",
        domains: [],
        instances: dead.map((port) => ({ address: "127.0.0.1", port })),
      },
    ]);
    const res = await send(r.url, { host: "gone.localhost" });
    expect(res.status).toBe(502);
    expect(res.body).toContain("app gone did not answer");
    expect(logs.join("\n")).toMatch(/failed after 2 attempt/);
  });

  it("sends a request body again when an instance refused the connection", async () => {
    const [a] = await upstreams("a");
    const dead = await freePort();
    const { r } = await router([
      {
        name: "post",
        domains: [],
        instances: [{ address: "127.0.0.1", port: dead }, inst(a!)],
      },
    ]);
    for (let i = 0; i < 4; i++) {
      const res = await send(r.url, { host: "post.localhost", method: "POST", body: `body ${i}` });
      expect(res.status).toBe(200);
      expect(echoOf(res.body)).toMatchObject({ name: "a", method: "POST", body: `body ${i}` });
    }
  });

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

  it("applies a new table at once", async () => {
    const [a, b] = await upstreams("a", "b");
    const { r, source } = await router([{ name: "app", domains: [], instances: [inst(a!)] }]);
    expect(echoOf((await send(r.url, { host: "app.localhost" })).body).name).toBe("a");
    source.set({ apps: [{ name: "app", domains: ["app.example.com"], instances: [inst(b!)] }] });
    expect(echoOf((await send(r.url, { host: "app.localhost" })).body).name).toBe("b");
    expect(echoOf((await send(r.url, { host: "app.example.com" })).body).name).toBe("b");
    source.set({ apps: [] });
    expect((await send(r.url, { host: "app.localhost" })).status).toBe(404);
  });

  it("serves from worker processes, which follow the table too", async () => {
    const [a, b] = await upstreams("a", "b");
    const { r, source } = await router([{ name: "w", domains: [], instances: [inst(a!)] }], {
      workers: 2,
    });
    const names = await Promise.all(
      Array.from(
        { length: 10 },
        async () => echoOf((await send(r.url, { host: "w.localhost" })).body).name,
      ),
    );
    expect(names).toEqual(Array(10).fill("a"));
    source.set({ apps: [{ name: "w", domains: [], instances: [inst(b!)] }] });
    const deadline = Date.now() + 1000;
    let last = "";
    while (Date.now() < deadline) {
      const all = await Promise.all(
        Array.from(
          { length: 4 },
          async () => echoOf((await send(r.url, { host: "w.localhost" })).body).name,
        ),
      );
      last = all.join(",");
      if (last === "b,b,b,b") break;
    }
    expect(last).toBe("b,b,b,b");
  });
});
