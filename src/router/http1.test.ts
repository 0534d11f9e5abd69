import { describe, expect, it } from "vitest";
import { ChunkedFramer } from "./chunked.js";
import { HeadError, parseRequestHead, parseResponseHead } from "./http1.js";

const req = (text: string) => parseRequestHead(Buffer.from(text, "latin1"));
const res = (text: string, upgrade = false) =>
  parseResponseHead(Buffer.from(text, "latin1"), 0, upgrade);

function refused(text: string): number {
  try {
    req(text);
  } catch (err) {
    if (err instanceof HeadError) return err.status;
    throw err;
  }
  return 0;
}

describe("request heads", () => {
  it("reads what routing needs and keeps the other headers in order", () => {
    const text =
      "GET /a?b=1 HTTP/1.1\r\nHost: Hello.localhost:8080\r\nAccept: text/html\r\nX-A: 1\r\nX-Request-Id: abc-1\r\nX-Forwarded-For: 10.0.0.1\r\n\r\nrest";
    const head = req(text)!;
    expect(head).toMatchObject({
      method: "GET",
      target: "/a?b=1",
      minor: 1,
      host: "Hello.localhost:8080",
      keepAlive: true,
      requestId: "abc-1",
      forwardedFor: "10.0.0.1",
      accept: "text/html",
      contentLength: -1,
      chunked: false,
    });
    expect(head.lines).toBe("Host: Hello.localhost:8080\r\nAccept: text/html\r\nX-A: 1\r\n");
    expect(head.size).toBe(text.length - "rest".length); // the head ends before "rest"
  });

  it("waits for the rest of an incomplete head", () => {
    expect(req("GET / HTTP/1.1\r\nHost: a\r\n")).toBeNull();
  });

  it("drops hop-by-hop headers, those named in Connection, and the router's own", () => {
    const head = req(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: 5\r\nTE: trailers\r\nProxy-Connection: x\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nX-Kept: 1\r\n\r\n",
    )!;
    expect(head.lines).toBe("Host: a\r\nX-Kept: 1\r\n");
  });

  it("understands Connection: close, HTTP/1.0 keep-alive and upgrades", () => {
    expect(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")!.keepAlive).toBe(false);
    expect(req("GET / HTTP/1.0\r\n\r\n")!.keepAlive).toBe(false);
    expect(req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")!.keepAlive).toBe(true);
    const up = req(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    )!;
    expect(up.upgrade).toBe("websocket");
    expect(up.lines).toBe("Host: a\r\n");
    // Upgrade without the Connection token is no upgrade.
    expect(req("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n")!.upgrade).toBe("");
  });

  it("takes the host of an absolute-form target", () => {
    const head = req("GET http://b.localhost/x?y HTTP/1.1\r\nHost: a.localhost\r\n\r\n")!;
    expect(head.host).toBe("b.localhost");
    expect(head.target).toBe("/x?y");
  });

  it("skips empty lines before the request line", () => {
    expect(req("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")!.method).toBe("GET");
  });

  it("refuses ambiguous framing and malformed heads (request smuggling)", () => {
    const base = "POST / HTTP/1.1\r\nHost: a\r\n";
    expect(refused(base + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe(400);
    expect(refused(base + "Content-Length: 3\r\nContent-Length: 4\r\n\r\n")).toBe(400);
    expect(refused(base + "Content-Length: +3\r\n\r\n")).toBe(400);
    expect(refused(base + "Transfer-Encoding: gzip, chunked\r\n\r\n")).toBe(501);
    expect(refused(base + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe(
      501,
    );
    expect(refused(base + "Content-Length : 3\r\n\r\n")).toBe(400); // space before the colon
    expect(refused(base + "X-A: 1\r\n folded\r\n\r\n")).toBe(400); // obs-fold
    expect(refused(base + "X-A: 1\nX-B: 2\r\n\r\n")).toBe(400); // bare LF
    expect(refused(base + "X-A: a\u0000b\r\n\r\n")).toBe(400);
    expect(refused("GET / HTTP/1.1\r\n\r\n")).toBe(400); // no Host
    expect(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")).toBe(400);
    expect(refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n")).toBe(505);
    expect(refused("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n")).toBe(400);
    expect(refused("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n")).toBe(400);
    expect(refused("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n")).toBe(400);
    expect(refused("GET / HTTP/1.1\r\nHost: a\r\nX: " + "x".repeat(17000) + "\r\n\r\n")).toBe(431);
    expect(refused("GET / HTTP/1.1\r\nHost: a\r\nX: " + "x".repeat(17000))).toBe(431);
  });

  it("ignores a request id that is not a plain token", () => {
    expect(req("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: a b\r\n\r\n")!.requestId).toBe("");
  });
});

describe("response heads", () => {
  it("drops hop-by-hop headers and normalizes Content-Length", () => {
    const head = res(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Internal\r\nX-Internal: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\nhello",
    )!;
    expect(head.status).toBe(200);
    expect(head.close).toBe(false);
    expect(head.contentLength).toBe(5);
    expect(head.head).toBe("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n");
  });

  it("knows when the app closes the connection", () => {
    expect(res("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")!.close).toBe(true);
    expect(res("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")!.close).toBe(true);
    const ka = res("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")!;
    expect(ka.close).toBe(false);
    expect(ka.head.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
  });

  it("lets Transfer-Encoding win over Content-Length", () => {
    const head = res("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n")!;
    expect(head.chunked).toBe(true);
    expect(head.contentLength).toBe(-1);
    expect(head.head).not.toMatch(/content-length/i);
  });

  it("keeps Upgrade only on a 101 to an upgrade request", () => {
    const text =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    expect(res(text, true)!.head).toContain("Upgrade: websocket");
    expect(res(text, false)!.head).not.toContain("Upgrade: websocket");
  });

  it("refuses what cannot be forwarded safely", () => {
    expect(() => res("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")).toThrow(
      HeadError,
    );
    expect(() => res("HTTX/1.1 200 OK\r\n\r\n")).toThrow(HeadError);
    expect(res("HTTP/1.1 200 OK\r\n")).toBeNull();
  });
});

describe("chunked framing", () => {
  const body = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n";

  it("finds the end of a body fed in one piece or byte by byte", () => {
    const buf = Buffer.from(body + "NEXT");
    expect(new ChunkedFramer().feed(buf, 0)).toBe(body.length);
    const f = new ChunkedFramer();
    let end = -1;
    for (let i = 0; i < buf.length && end < 0; i++) {
      const r = f.feed(buf.subarray(i, i + 1), 0);
      if (r >= 0) end = i + r;
    }
    expect(end).toBe(body.length);
  });

  it("starts at an offset and handles big chunks split across reads", () => {
    const big = "x".repeat(100_000);
    const text = `${(100_000).toString(16)}\r\n${big}\r\n0\r\n\r\n`;
    const buf = Buffer.from("HEAD" + text);
    const f = new ChunkedFramer();
    expect(f.feed(buf.subarray(0, 50_000), 4)).toBe(-1);
    expect(f.feed(buf.subarray(50_000), 0)).toBe(buf.length - 50_000);
  });

  it("refuses broken framing", () => {
    const bad = [
      "x\r\n",
      "5\r\nhelloX\r\n",
      "5\nhello\r\n",
      "1234567890abc\r\n",
      "0\r\nbad\nx\r\n",
    ];
    for (const b of bad)
      expect(() => new ChunkedFramer().feed(Buffer.from(b), 0), b).toThrow(HeadError);
  });
});
