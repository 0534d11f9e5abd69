import { request } from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { selfSigned, type TestCert } from "../../test/helpers/certs.js";
import { raw } from "../../test/helpers/router-setup.js";
import { send, startUpstream, type Echo, type Handler } from "../../test/helpers/upstreams.js";
import { StaticCertSource } from "./https.js";
import { hstsLine } from "./https-redirect.js";
import { startRouter, type RouterOptions } from "./router.js";
import { StaticRouteSource, type AppRoute } from "./source.js";
import { RouteTable } from "./table.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const YEAR = 31_536_000;

/** GET over HTTPS with SNI `host`, trusting only `ca`: status, headers, body. */
function httpsGet(
  port: number,
  host: string,
  ca: string,
  path = "/p",
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, servername: host, ca, path, headers: { host }, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * A router with HTTPS in front of one echoing upstream. Apps: `hello` (redirect + HSTS, custom
 * domain www.example.com), `plain` (neither), `nocert` (redirect, but no certificate), `own`
 * (HSTS, its app sets its own header).
 */
async function setup(
  opts: { workers?: number; handler?: Handler; challenges?: RouterOptions["challenges"] } = {},
) {
  const up = await startUpstream("a", opts.handler);
  cleanups.push(() => up.kill());
  const at = [{ address: "127.0.0.1", port: up.port }];
  const apps: AppRoute[] = [
    {
      name: "hello",
      domains: ["www.example.com"],
      instances: at,
      httpsRedirect: true,
      hsts: YEAR,
    },
    { name: "plain", domains: [], instances: at },
    { name: "nocert", domains: [], instances: at, httpsRedirect: true },
  ];
  const cert: TestCert = await selfSigned([
    "hello.localhost",
    "plain.localhost",
    "www.example.com",
  ]);
  const certs = new StaticCertSource([
    {
      domains: ["hello.localhost", "plain.localhost", "www.example.com"],
      certPem: cert.certPem,
      keyPem: cert.keyPem,
    },
  ]);
  const source = new StaticRouteSource({ apps });
  const r = await startRouter({
    listen: { host: "127.0.0.1", port: 0 },
    source,
    log: () => undefined,
    https: { host: "127.0.0.1", port: 0, explicit: true, certs },
    ...(opts.workers === undefined ? {} : { workers: opts.workers }),
    ...(opts.challenges === undefined ? {} : { challenges: opts.challenges }),
  });
  cleanups.push(() => r.close());
  return { r, url: r.url, port: r.address.port, https: r.https!.address.port, cert, certs, source };
}

describe("HTTP → HTTPS redirect", () => {
  it("answers 308 to https://<host>:<https port><path>?<query>, for custom domains too", async () => {
    const { url, https } = await setup();
    const res = await send(url, { host: "hello.localhost:8080", path: "/a/b?x=1&y=%20" });
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe(`https://hello.localhost:${https}/a/b?x=1&y=%20`);
    expect(res.headers["x-gantry-router"]).toBe("308");
    expect(res.body).toBe("");
    const www = await send(url, { host: "WWW.Example.com", path: "/" });
    expect(www.headers.location).toBe(`https://www.example.com:${https}/`);
  });

  it("serves over HTTP as before when the router has no certificate for the host, and redirects once one comes", async () => {
    const { url, https, certs, cert } = await setup();
    const before = await send(url, { host: "nocert.localhost", path: "/x" });
    expect(before.status).toBe(200);
    expect((JSON.parse(before.body) as Echo).url).toBe("/x");
    // An app without the setting is never redirected, certificate or not.
    expect((await send(url, { host: "plain.localhost" })).status).toBe(200);

    certs.set([{ domains: ["*.localhost"], certPem: cert.certPem, keyPem: cert.keyPem }]);
    const after = await send(url, { host: "nocert.localhost", path: "/x" });
    expect(after.status).toBe(308);
    expect(after.headers.location).toBe(`https://nocert.localhost:${https}/x`);
    // www.example.com lost its certificate with that delivery: served over HTTP again.
    expect((await send(url, { host: "www.example.com" })).status).toBe(200);
    expect((await send(url, { host: "plain.localhost" })).status).toBe(200);
  });

  it("does not redirect to a name whose certificate does not load (its key is another's)", async () => {
    const { url, certs, cert } = await setup();
    const other = await selfSigned(["nocert.localhost"]);
    certs.set([
      { domains: ["hello.localhost"], certPem: cert.certPem, keyPem: cert.keyPem },
      { domains: ["nocert.localhost"], certPem: other.certPem, keyPem: cert.keyPem },
    ]);
    expect((await send(url, { host: "nocert.localhost" })).status).toBe(200);
    expect((await send(url, { host: "hello.localhost" })).status).toBe(308);
  });

  it("keeps the method: HEAD and POST get the same 308; a POST's connection closes, a GET's goes on", async () => {
    const { port, https } = await setup();
    const head = await raw(
      port,
      "HEAD /h?q=1 HTTP/1.1\r\nHost: hello.localhost\r\n\r\n",
      /\r\n\r\n/,
    );
    expect(head).toMatch(/^HTTP\/1\.1 308 Permanent Redirect\r\n/);
    expect(head).toContain(`\r\nlocation: https://hello.localhost:${https}/h?q=1\r\n`);

    const post = await raw(
      port,
      "POST /form HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 5\r\n\r\nhello",
    );
    expect(post).toMatch(/^HTTP\/1\.1 308 /);
    expect(post).toContain(`\r\nlocation: https://hello.localhost:${https}/form\r\n`);
    expect(post).toContain("\r\nconnection: close\r\n");
    expect(post.match(/HTTP\/1\.1/g)).toHaveLength(1);

    // Pipelined: a redirect then a request for an app served over HTTP, on one connection.
    const two = await raw(
      port,
      "GET /1 HTTP/1.1\r\nHost: hello.localhost\r\n\r\n" +
        "GET /2 HTTP/1.1\r\nHost: plain.localhost\r\nConnection: close\r\n\r\n",
    );
    expect(two).toMatch(/^HTTP\/1\.1 308 [^]*\r\n\r\nHTTP\/1\.1 200 /);
    expect(two).toContain('"url":"/2"');
  });

  it("never redirects an ACME challenge (served over plain HTTP)", async () => {
    const { url } = await setup();
    const res = await send(url, {
      host: "hello.localhost",
      path: "/.well-known/acme-challenge/t0k",
    });
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Echo).url).toBe("/.well-known/acme-challenge/t0k");
    // With the router's own ACME answerer, it answers the challenge itself.
    const acme = await setup({ challenges: async (t) => (t === "t0k" ? "t0k.key" : undefined) });
    const answered = await send(acme.url, {
      host: "hello.localhost",
      path: "/.well-known/acme-challenge/t0k",
    });
    expect(answered.status).toBe(200);
    expect(answered.body).toBe("t0k.key");
    // Only that prefix: the rest of /.well-known is redirected.
    expect((await send(url, { host: "hello.localhost", path: "/.well-known/x" })).status).toBe(308);
  });

  it("redirects in router workers too (the HTTPS port and certificate names reach them)", async () => {
    const { url, https } = await setup({ workers: 1 });
    const res = await send(url, { host: "hello.localhost", path: "/w?z" });
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe(`https://hello.localhost:${https}/w?z`);
  });

  it("follows the table: turning the setting off serves HTTP again", async () => {
    const { url, source } = await setup();
    expect((await send(url, { host: "hello.localhost" })).status).toBe(308);
    source.set({
      apps: source.current.apps.map((a) => ({ ...a, httpsRedirect: false })),
    });
    expect((await send(url, { host: "hello.localhost" })).status).toBe(200);
  });
});

describe("HSTS", () => {
  it("adds Strict-Transport-Security to HTTPS answers of an app with hsts, and only those", async () => {
    const { https, cert } = await setup();
    const res = await httpsGet(https, "hello.localhost", cert.certPem);
    expect(res.status).toBe(200);
    expect(res.headers["strict-transport-security"]).toBe(`max-age=${YEAR}`);
    const plain = await httpsGet(https, "plain.localhost", cert.certPem);
    expect(plain.status).toBe(200);
    expect(plain.headers["strict-transport-security"]).toBeUndefined();
  });

  it("on the router's own answers for the app too (a 503 while it has no instance)", async () => {
    const { https, cert, source } = await setup();
    source.set({ apps: source.current.apps.map((a) => ({ ...a, instances: [] })) });
    const down = await httpsGet(https, "hello.localhost", cert.certPem);
    expect(down.status).toBe(503);
    expect(down.headers["strict-transport-security"]).toBe(`max-age=${YEAR}`);
    const other = await httpsGet(https, "plain.localhost", cert.certPem);
    expect(other.status).toBe(503);
    expect(other.headers["strict-transport-security"]).toBeUndefined();
  });

  it("never over plain HTTP (RFC 6797)", async () => {
    const { url, source } = await setup();
    source.set({ apps: source.current.apps.map((a) => ({ ...a, httpsRedirect: false })) });
    const res = await send(url, { host: "hello.localhost" });
    expect(res.status).toBe(200);
    expect(res.headers["strict-transport-security"]).toBeUndefined();
  });

  it("leaves an app's own Strict-Transport-Security alone (one header, the app's)", async () => {
    const { https, cert } = await setup({
      handler: (_req, res) => {
        res.writeHead(200, { "Strict-Transport-Security": "max-age=60; includeSubDomains" });
        res.end("own");
      },
    });
    const res = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: https,
          servername: "hello.localhost",
          ca: cert.certPem,
          headers: { host: "hello.localhost" },
          agent: false,
        },
        (r) => {
          resolve(r.rawHeaders.join("\n"));
          r.resume();
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(res.match(/strict-transport-security/gi)).toHaveLength(1);
    expect(res).toContain("max-age=60; includeSubDomains");
  });
});

describe("redirect decisions in the table", () => {
  const table = (https?: { port: number; names: string[] }) =>
    new RouteTable(
      {
        apps: [
          {
            name: "a",
            domains: ["a.example.com", "x.other.org"],
            instances: [],
            httpsRedirect: true,
          },
          { name: "b", domains: [], instances: [], hsts: 60 },
        ],
        ...(https === undefined ? {} : { https }),
      },
      "localhost",
      () => ({ downUntil: 0 }),
    );

  it("leaves the port out when it is 443; a wildcard covers one label", () => {
    const t = table({ port: 443, names: ["*.example.com", "A.LOCALHOST"] });
    expect(t.redirect("a.localhost:80")).toBe("https://a.localhost");
    expect(t.redirect("A.Example.com")).toBe("https://a.example.com");
    expect(t.redirect("x.other.org")).toBeUndefined();
    expect(t.route("a.localhost")?.redirect).toBe(true);
    expect(t.route("b.localhost")?.redirect).toBe(false);
  });

  it("redirects nothing without an HTTPS listener; HSTS is one header line, 0 none", () => {
    const t = table();
    expect(t.route("a.localhost")?.redirect).toBe(false);
    expect(t.redirect("a.localhost")).toBeUndefined();
    expect(t.route("b.localhost")?.hsts).toBe("strict-transport-security: max-age=60\r\n");
    expect(t.route("a.localhost")?.hsts).toBeNull();
    expect(hstsLine(0)).toBeNull();
  });
});
