import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../test/helpers/ports.js";
import { GantryClient } from "./client.js";
import { ConnectError } from "./errors.js";
import { mayResend, noAnswer, parseServerList, ServerList } from "./servers.js";

describe("server list (pure)", () => {
  it("parses URL[,URL…]: trimmed, no trailing slashes, no duplicates", () => {
    expect(parseServerList(" http://a:1/, http://b:2,,http://a:1 ")).toEqual([
      "http://a:1",
      "http://b:2",
    ]);
    expect(parseServerList(["http://a:1,http://b:2", "http://c:3"])).toEqual([
      "http://a:1",
      "http://b:2",
      "http://c:3",
    ]);
    expect(() => new ServerList([])).toThrow(/at least one server/);
  });

  it("moves to the next server on no answer, round the end; a stale failure moves nothing", () => {
    const l = new ServerList(["http://a", "http://b", "http://c"]);
    expect(l.current).toBe("http://a");
    l.failed("http://a");
    expect(l.current).toBe("http://b");
    l.failed("http://a"); // another request that was still on a: already moved on
    expect(l.current).toBe("http://b");
    l.failed("http://b");
    l.failed("http://c");
    expect(l.current).toBe("http://a");
    expect(l.learn(["http://c", "http://d/"])).toEqual(["http://d"]);
    expect(l.all).toEqual(["http://a", "http://b", "http://c", "http://d"]);
  });

  it("tells never-sent from perhaps-sent, through fetch's wrapping too", () => {
    expect(noAnswer(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe("unsent");
    expect(noAnswer(Object.assign(new Error("x"), { code: "GANTRY_CONNECT_TIMEOUT" }))).toBe(
      "unsent",
    );
    expect(noAnswer(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(
      "maybe-sent",
    );
    const wrapped = new TypeError("fetch failed", {
      cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
    });
    expect(noAnswer(wrapped)).toBe("unsent");
    expect(noAnswer(Object.assign(new Error("x"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }))).toBe(
      undefined,
    );
    expect(noAnswer(new Error("the answer was cut short"))).toBe(undefined);
  });

  it("resends only what is safe: never sent, or an idempotent method", () => {
    expect(mayResend("POST", "unsent")).toBe(true);
    expect(mayResend("POST", "maybe-sent")).toBe(false);
    expect(mayResend("GET", "maybe-sent")).toBe(true);
    expect(mayResend("PUT", "maybe-sent")).toBe(true);
    expect(mayResend("delete", "maybe-sent")).toBe(true);
  });
});

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const s of servers.splice(0)) {
    s.closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
});

/** An HTTP server answering {server: name, method, n} and counting what it got. */
async function answering(name: string): Promise<{ url: string; got: string[] }> {
  const got: string[] = [];
  const s = createServer((req, res) => {
    got.push(req.method!);
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ server: name, method: req.method }));
    });
  });
  servers.push(s as unknown as Server);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, got };
}

/** A server that takes each request and closes without a byte of answer. */
async function hangingUp(): Promise<{ url: string; got: number }> {
  const state = { url: "", got: 0 };
  const s = createTcpServer((sock) => {
    sockets.add(sock);
    sock.once("data", () => {
      state.got++;
      sock.destroy();
    });
  });
  servers.push(s as unknown as Server);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  return state;
}

/** A server cut off from the majority: stale reads, writes refused with no_quorum. */
async function minority(): Promise<{ url: string; got: string[] }> {
  const got: string[] = [];
  const s = createServer((req, res) => {
    got.push(req.method!);
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      if (req.method === "GET") {
        res.setHeader("x-gantry-stale", "true");
        res.end(JSON.stringify({ server: "minority", method: "GET" }));
        return;
      }
      res.statusCode = 503;
      res.end(JSON.stringify({ error: { code: "no_quorum", message: "lost quorum" } }));
    });
  });
  servers.push(s as unknown as Server);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, got };
}

describe("GantryClient with several servers", () => {
  it("leaves a server without quorum: a stale read is answered, the next goes elsewhere; a refused PUT is sent again there, a POST is not", async () => {
    const cut = await minority();
    const live = await answering("b");
    const c = new GantryClient({ addr: [cut.url, live.url] });
    expect(await c.json("GET", "/x")).toEqual({ server: "minority", method: "GET" });
    expect(c.addr).toBe(live.url);
    expect(await c.json("GET", "/x")).toEqual({ server: "b", method: "GET" });

    const put = new GantryClient({ addr: [cut.url, live.url] });
    expect(await put.json("PUT", "/beat")).toEqual({ server: "b", method: "PUT" });
    const post = new GantryClient({ addr: [cut.url, live.url] });
    await expect(post.json("POST", "/x")).rejects.toMatchObject({ code: "no_quorum" });
    expect(post.addr).toBe(live.url);
    expect(live.got).toEqual(["GET", "PUT"]);
  });

  it("a refused connection moves it to the next server, which gets the request (POST too)", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const live = await answering("b");
    const c = new GantryClient({ addr: `${dead},${live.url}` });
    expect(c.addr).toBe(dead);
    expect(await c.json("POST", "/x", { body: { a: 1 } })).toEqual({ server: "b", method: "POST" });
    expect(c.addr).toBe(live.url);
    expect(await c.json("GET", "/y")).toEqual({ server: "b", method: "GET" });
    expect(live.got).toEqual(["POST", "GET"]);
  });

  it("a connection dropped after the request: GET goes again to the next, POST does not", async () => {
    const hang = await hangingUp();
    const live = await answering("b");
    const get = new GantryClient({ addr: [hang.url, live.url] });
    expect(await get.json("GET", "/x")).toEqual({ server: "b", method: "GET" });
    expect(hang.got).toBe(1);

    const post = new GantryClient({ addr: [hang.url, live.url] });
    const err = await post.json("POST", "/x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(hang.got).toBe(2);
    expect(live.got).toEqual(["GET"]); // the POST was not sent twice
    // …but the client moved on: the next request goes to the live one.
    expect(post.addr).toBe(live.url);
    expect(await post.json("POST", "/z")).toEqual({ server: "b", method: "POST" });
  });

  it("with every server away, it fails naming them all after trying each once", async () => {
    const a = `http://127.0.0.1:${await freePort()}`;
    const b = `http://127.0.0.1:${await freePort()}`;
    const c = new GantryClient({ addr: [a, b] });
    const err = (await c.json("GET", "/x").catch((e: unknown) => e)) as ConnectError;
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.message).toContain(`cannot reach Gantry at ${a}, ${b}`);
    expect(c.addr).toBe(a);
  });

  it("a caller's timeout that passes counts as no answer: the next request goes elsewhere", async () => {
    const silent = createTcpServer((sock) => void sockets.add(sock)); // takes them, never answers
    servers.push(silent as unknown as Server);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const quiet = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const live = await answering("b");
    const c = new GantryClient({ addr: [quiet, live.url] });
    const err = await c
      .request("PUT", "/beat", { signal: AbortSignal.timeout(200) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(c.addr).toBe(live.url);
    // A blocking read not answered within its wait (and a margin): its server is left too.
    const b = new GantryClient({ addr: [quiet, live.url], blockingMarginMs: 200 });
    const t = Date.now();
    const late = await b
      .request("GET", "/v1/catalog/node/n", { query: { index: 5, wait: "100ms" } })
      .catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ConnectError);
    expect(Date.now() - t).toBeGreaterThanOrEqual(250);
    expect(b.addr).toBe(live.url);
    // A caller's own abort is no server's fault: it propagates and moves nothing.
    const ac = new AbortController();
    const aborted = c.request("GET", "/x", { signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
    expect(c.addr).toBe(live.url);
  });
});
