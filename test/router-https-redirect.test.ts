/**
 * Per-app HTTP→HTTPS redirect and HSTS through `gantry up` (issue 13): `apps:set` reaches the
 * router through the API, an app at <app>.localhost has a cluster-CA certificate, so its plain
 * HTTP answers turn into a 308 to the HTTPS listener, and its HTTPS answers carry HSTS.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually, stopGantry } from "./helpers/paas.js";
import { freePort } from "./helpers/ports.js";

let g: GantryProcess;
let httpPort: number;
let httpsPort: number;

beforeAll(async () => {
  [httpPort, httpsPort] = [await freePort(), await freePort()];
  g = await startGantry({
    args: ["--http-addr", `127.0.0.1:${httpPort}`, "--https-addr", `127.0.0.1:${httpsPort}`],
  });
}, 60_000);
afterAll(() => stopGantry(g));

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
}

/** One request over plain HTTP to the router, Host `host`. */
function overHttp(host: string, path: string, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: httpPort, path, method, headers: { host }, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(method === "POST" ? "a=1" : undefined);
  });
}

/** GET `url` (https://<host>:<port>/…) at the router's HTTPS port, trusting the cluster CA. */
function overHttps(url: string): Promise<Answer> {
  const u = new URL(url);
  const ca = readFileSync(join(g.dataDir, "ca.crt"), "utf8");
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port: Number(u.port),
        servername: u.hostname,
        path: u.pathname + u.search,
        headers: { host: u.host },
        ca,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("HTTPS redirect and HSTS in gantry up", () => {
  it("apps:set hello https-redirect=true hsts=true: HTTP gets a 308 to https://hello.localhost:<https port>, HTTPS gets HSTS", async () => {
    expect((await g.cli(["apps:create", "hello"])).code).toBe(0);
    // Served over HTTP (503: no instance yet) until the setting is on — once the router has
    // heard of the app (until then: 404, an unknown host).
    await eventually("the router to know hello", async () =>
      (await overHttp(`hello.localhost:${httpPort}`, "/")).status === 503 ? true : undefined,
    );
    const set = await g.cli(["apps:set", "hello", "https-redirect=true", "hsts=true"]);
    expect(set.code, set.stderr).toBe(0);

    const res = await eventually("a 308 from the router", async () => {
      const r = await overHttp(`hello.localhost:${httpPort}`, "/a?b=1");
      return r.status === 308 ? r : undefined;
    });
    const location = `https://hello.localhost:${httpsPort}/a?b=1`;
    expect(res.headers.location).toBe(location);
    expect(res.headers["strict-transport-security"]).toBeUndefined();
    const post = await overHttp("hello.localhost", "/form", "POST");
    expect(post.status).toBe(308);
    expect(post.headers.location).toBe(`https://hello.localhost:${httpsPort}/form`);

    const followed = await overHttps(location);
    expect(followed.status).toBe(503);
    expect(followed.headers["strict-transport-security"]).toBe("max-age=31536000");

    const info = await g.cli(["apps:info", "hello"]);
    expect(info.stdout).toMatch(/^HTTPS:\s+redirect from HTTP, HSTS 31536000 s$/m);
  });

  it("turned off, HTTP is served again; a bad value is refused naming the key", async () => {
    expect((await g.cli(["apps:set", "hello", "httpsRedirect=false", "hsts=0"])).code).toBe(0);
    await eventually("HTTP served again", async () =>
      (await overHttp("hello.localhost", "/")).status === 503 ? true : undefined,
    );
    const https = await overHttps(`https://hello.localhost:${httpsPort}/`);
    expect(https.headers["strict-transport-security"]).toBeUndefined();
    const bad = await g.cli(["apps:set", "hello", "hsts=forever"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("hsts must be true (one year), false, or a max-age in seconds");
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it("from a stack: apps.<name>.httpsRedirect and hsts are created, applied and redirect", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gantry-stack-https-"));
    writeFileSync(
      join(dir, "gantry.yaml"),
      "apps:\n  shop:\n    httpsRedirect: true\n    hsts: 600\n",
    );
    const applied = await g.cli(["apply", dir]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("https of shop: redirect true, hsts 600");
    const res = await eventually("a 308 for shop", async () => {
      const r = await overHttp("shop.localhost", "/");
      return r.status === 308 ? r : undefined;
    });
    expect(res.headers.location).toBe(`https://shop.localhost:${httpsPort}/`);
    expect((await overHttps(res.headers.location!)).headers["strict-transport-security"]).toBe(
      "max-age=600",
    );
    // The same spec again: nothing to change.
    const plan = await g.cli(["plan", dir]);
    expect(plan.stdout).toMatch(/^No changes: the platform matches/m);
  });
});
