import { createServer, type Server } from "node:http";
import { createServer as createTcpServer } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execProbe } from "./exec.js";
import { httpProbe, readAnswer } from "./http.js";
import { tcpProbe } from "./tcp.js";

const never = new AbortController().signal;
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/ok") return res.end("all good");
    if (req.url === "/busy") return res.writeHead(429).end();
    if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2000);
    if (req.url === "/login") return res.writeHead(302, { location: "/nowhere" }).end();
    if (req.url === "/moved") return res.writeHead(301, { location: `${base}/ok` }).end();
    if (req.url === "/chunked") {
      res.write("first ");
      return void setTimeout(() => res.end("second"), 20);
    }
    if (req.url === "/big") return res.end("x".repeat(100_000));
    if (req.url === "/loop") return res.writeHead(302, { location: "/loop" }).end();
    if (req.url === "/missing") return res.writeHead(404).end("no such page");
    res.writeHead(503).end("down for maintenance");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe("http probe", () => {
  it("passes on 2xx with the body in the output", async () => {
    const r = await httpProbe(`${base}/ok`, 1000, never);
    expect(r.status).toBe("passing");
    expect(r.output).toMatch(/200 OK Output: all good/);
  });

  it("warns on 429 and fails on 5xx", async () => {
    expect((await httpProbe(`${base}/busy`, 1000, never)).status).toBe("warning");
    const down = await httpProbe(`${base}/other`, 1000, never);
    expect(down).toMatchObject({ status: "critical" });
    expect(down.output).toMatch(/503/);
  });

  it('with expect "<500" passes every answer below 500 without following redirects', async () => {
    const passes = async (path: string) =>
      (await httpProbe(`${base}${path}`, 1000, never, "<500")).status;
    expect(await passes("/missing")).toBe("passing");
    expect(await passes("/busy")).toBe("passing");
    const redirect = await httpProbe(`${base}/login`, 1000, never, "<500");
    expect(redirect).toMatchObject({ status: "passing" });
    expect(redirect.output).toMatch(/302/);
    expect(await passes("/other")).toBe("critical");
    // The default stays Consul's: a 404 is critical.
    expect((await httpProbe(`${base}/missing`, 1000, never)).status).toBe("critical");
  });

  it("follows redirects to the answer that counts, up to 10", async () => {
    const moved = await httpProbe(`${base}/moved`, 1000, never);
    expect(moved).toMatchObject({ status: "passing" });
    expect(moved.output).toBe(`HTTP GET ${base}/moved: 200 OK Output: all good`);
    const login = await httpProbe(`${base}/login`, 1000, never);
    expect(login).toMatchObject({ status: "critical" });
    expect(login.output).toMatch(/: 503 Service Unavailable Output: down for maintenance$/);
    const loop = await httpProbe(`${base}/loop`, 1000, never);
    expect(loop).toEqual({ status: "critical", output: `HTTP GET ${base}/loop: 302 Found` });
  });

  it("reads chunked and large bodies as far as the output needs", async () => {
    expect(await httpProbe(`${base}/chunked`, 1000, never)).toEqual({
      status: "passing",
      output: `HTTP GET ${base}/chunked: 200 OK Output: first second`,
    });
    const big = await httpProbe(`${base}/big`, 1000, never);
    expect(big.status).toBe("passing");
    expect(big.output).toBe(`HTTP GET ${base}/big: 200 OK Output: ${"x".repeat(512)}`);
  });

  it("fails when nothing answers in time, or nothing listens", async () => {
    const slow = await httpProbe(`${base}/slow`, 200, never);
    expect(slow).toEqual({
      status: "critical",
      output: `HTTP GET ${base}/slow: timed out after 200ms`,
    });
    const port = await closedPort();
    const refused = await httpProbe(`http://127.0.0.1:${port}/`, 1000, never);
    expect(refused.status).toBe("critical");
    expect(refused.output).toMatch(/ECONNREFUSED/);
  });
});

describe("reading an answer", () => {
  const b = (s: string): Buffer => Buffer.from(s, "latin1");
  it("waits for the head, then for the body or its first bytes", () => {
    expect(readAnswer(b("HTTP/1.1 200 OK\r\ncontent-le"), false)).toBeNull();
    expect(readAnswer(b("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab"), false)).toBeNull();
    expect(readAnswer(b("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nabcde"), false)).toEqual({
      status: 200,
      reason: "OK",
      body: "abcde",
    });
    // No length: the body ends with the connection.
    expect(readAnswer(b("HTTP/1.0 503 Busy\r\n\r\nlater"), false)).toBeNull();
    expect(readAnswer(b("HTTP/1.0 503 Busy\r\n\r\nlater"), true)).toEqual({
      status: 503,
      reason: "Busy",
      body: "later",
    });
  });

  it("takes the reason from the status code when the line has none, and the location", () => {
    expect(
      readAnswer(b("HTTP/1.1 302\r\nLocation: /x\r\ncontent-length: 0\r\n\r\n"), false),
    ).toEqual({
      status: 302,
      reason: "Found",
      location: "/x",
      body: "",
    });
    expect(readAnswer(b("HTTP/1.1 204 No Content\r\n\r\n"), false)?.status).toBe(204);
  });

  it("joins chunks, and refuses what is not HTTP", () => {
    const chunked = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n";
    expect(readAnswer(b(chunked), false)).toBeNull();
    expect(readAnswer(b(`${chunked}0\r\n\r\n`), false)?.body).toBe("abcde");
    expect(() => readAnswer(b("SSH-2.0-OpenSSH_9.2\r\n\r\n"), false)).toThrow("not HTTP");
    expect(() => readAnswer(b(""), true)).toThrow("empty answer");
    expect(() =>
      readAnswer(b(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n`), false),
    ).toThrow("malformed");
  });
});

describe("tcp probe", () => {
  it("passes when it connects and fails when refused", async () => {
    const port = Number(new URL(base).port);
    expect(await tcpProbe("127.0.0.1", port, 1000, never)).toMatchObject({ status: "passing" });
    const closed = await tcpProbe("127.0.0.1", await closedPort(), 1000, never);
    expect(closed.status).toBe("critical");
    expect(closed.output).toMatch(/ECONNREFUSED/);
  });
});

describe("exec probe", () => {
  it("passes on exit 0, warns on 1, fails otherwise, with the output", async () => {
    expect(await execProbe(["/bin/sh", "-c", "echo fine"], 2000, never)).toEqual({
      status: "passing",
      output: "fine",
    });
    expect((await execProbe(["/bin/sh", "-c", "echo meh >&2; exit 1"], 2000, never)).status).toBe(
      "warning",
    );
    const bad = await execProbe(["/bin/sh", "-c", "exit 3"], 2000, never);
    expect(bad).toEqual({ status: "critical", output: "exit status 3" });
  });

  it("passes arguments as argv, never through a shell", async () => {
    const r = await execProbe(["/bin/echo", "$HOME", "; rm -rf /", "`id`"], 2000, never);
    expect(r).toEqual({ status: "passing", output: "$HOME ; rm -rf / `id`" });
  });

  it("kills a command that overruns its timeout, children included", async () => {
    const started = Date.now();
    const r = await execProbe(["/bin/sh", "-c", "sleep 30 & sleep 30"], 300, never);
    expect(r.status).toBe("critical");
    expect(r.output).toMatch(/timed out after 300ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("fails when the program does not exist", async () => {
    const r = await execProbe(["/nonexistent/check"], 1000, never);
    expect(r.status).toBe("critical");
    expect(r.output).toMatch(/ENOENT/);
  });
});
