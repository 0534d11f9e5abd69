import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AppsClient } from "../client/apps.js";
import { CatalogClient } from "../client/catalog.js";
import { GantryClient } from "../client/client.js";
import { startTestApi } from "../../test/helpers/api.js";
import { send, startUpstream, type Echo } from "../../test/helpers/upstreams.js";
import { ApiRouteSource } from "./api-source.js";
import { startRouter } from "./router.js";
import type { RouteSnapshot } from "./source.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const facts = { hostname: "n1", cpus: 1, memory: 1 << 30, addresses: ["127.0.0.1"] };

/** Poll `probe` until it returns true; the time it took (ms), or throw after `withinMs`. */
async function within(
  withinMs: number,
  what: string,
  probe: () => Promise<boolean>,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the API route source", () => {
  it("follows apps, domains and passing catalog instances within a second", async () => {
    const api = await startTestApi();
    cleanups.push(() => api.close());
    const [a, b] = await Promise.all([startUpstream("a"), startUpstream("b")]);
    cleanups.push(
      () => a.kill(),
      () => b.kill(),
    );
    const admin = api.admin;
    const apps = new AppsClient(admin);
    const catalog = new CatalogClient(admin);
    await catalog.joinNode("n1", facts, 300);
    const reader = await api.clientWith([
      { resource: "app", prefix: "", access: "read" },
      { resource: "service", prefix: "", access: "read" },
    ]);
    const logs: string[] = [];
    const router = await startRouter({
      listen: { host: "127.0.0.1", port: 0 },
      source: new ApiRouteSource({ client: reader, log: (l) => logs.push(l) }),
      log: (l) => logs.push(l),
    });
    cleanups.push(() => router.close());
    const status = async (host: string): Promise<number> =>
      (await send(router.url, { host })).status;
    const servedBy = async (host: string): Promise<string> => {
      const res = await send(router.url, { host });
      return res.status === 200 ? (JSON.parse(res.body) as Echo).name : String(res.status);
    };

    expect(await status("hello.localhost")).toBe(404);
    await apps.create("hello");
    await within(
      1000,
      "a new app answers 503",
      async () => (await status("hello.localhost")) === 503,
    );

    // An instance with a TTL check: routed once it passes, and no longer once it fails.
    const register = (id: string, port: number) =>
      catalog.register({
        service: "hello",
        id,
        node: "n1",
        address: "127.0.0.1",
        port,
        checks: [{ type: "ttl", ttl: "60s" }],
      });
    await register("web-a", a.port);
    expect(await status("hello.localhost")).toBe(503); // registered, not passing yet
    await catalog.updateTtl("hello", "web-a", "ttl", "pass");
    await within(
      1000,
      "a passing instance gets traffic",
      async () => (await servedBy("hello.localhost")) === "a",
    );

    await register("web-b", b.port);
    await catalog.updateTtl("hello", "web-b", "ttl", "pass");
    await within(1000, "both instances get traffic", async () => {
      const seen = new Set([await servedBy("hello.localhost"), await servedBy("hello.localhost")]);
      return seen.has("a") && seen.has("b");
    });

    await catalog.updateTtl("hello", "web-a", "ttl", "fail");
    await within(1000, "a failing instance gets no traffic", async () => {
      const seen = [await servedBy("hello.localhost"), await servedBy("hello.localhost")];
      return seen.every((s) => s === "b");
    });
    for (let i = 0; i < 10; i++) expect(await servedBy("hello.localhost")).toBe("b");

    await apps.addDomain("hello", "www.example.com");
    await within(1000, "a custom domain", async () => (await servedBy("www.example.com")) === "b");

    await catalog.deregister("hello", "web-b");
    await within(
      1000,
      "a deregistered instance gets no traffic",
      async () => (await status("hello.localhost")) === 503,
    );

    await apps.destroy("hello", "hello");
    await within(
      2000,
      "a destroyed app is gone",
      async () => (await status("hello.localhost")) === 404,
    );
    expect(logs.filter((l) => !l.includes("again"))).toEqual([]);
  });

  it("carries an app's httpsRedirect and hsts into the table, and drops them when turned off", async () => {
    const api = await startTestApi();
    cleanups.push(() => api.close());
    const apps = new AppsClient(api.admin);
    await apps.create("hello");
    const reader = await api.clientWith([
      { resource: "app", prefix: "", access: "read" },
      { resource: "service", prefix: "", access: "read" },
    ]);
    let last: RouteSnapshot = { apps: [] };
    const stop = new ApiRouteSource({ client: reader, log: () => undefined }).watch(
      (s) => (last = s),
    );
    cleanups.push(stop);
    const hello = () => last.apps.find((a) => a.name === "hello");
    await within(2000, "the app", async () => hello() !== undefined);
    expect(hello()).toEqual({ name: "hello", domains: [], instances: [] });

    await apps.settings("hello", { httpsRedirect: true, hsts: 60 });
    await within(1000, "the settings", async () => hello()?.hsts === 60);
    expect(hello()).toMatchObject({ httpsRedirect: true, hsts: 60 });

    await apps.settings("hello", { httpsRedirect: false, hsts: 0 });
    await within(1000, "the settings off", async () => hello()?.hsts === undefined);
    expect(hello()).toEqual({ name: "hello", domains: [], instances: [] });
    await expect(apps.settings("hello", { hsts: -1 })).rejects.toThrow(/hsts/);
  });

  it("treats a server without the apps API as having no apps, until it has one", async () => {
    let appsApi = false;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const json = (status: number, body: unknown, index?: number): void => {
        res.writeHead(status, {
          "content-type": "application/json",
          ...(index === undefined ? {} : { "x-gantry-index": String(index) }),
        });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === "/v1/apps" && !appsApi)
        return json(404, { error: { code: "not_found", message: "no route for /v1/apps" } });
      if (url.pathname === "/v1/apps") return json(200, [{ name: "late", domains: [] }], 7);
      if (url.pathname === "/v1/catalog/service/late") {
        // Answer blocking reads after a short wait, as the real server would on a timeout.
        const reply = () => json(200, [{ address: "127.0.0.1", port: 9, status: "passing" }], 7);
        return void (url.searchParams.has("index") ? setTimeout(reply, 200) : reply());
      }
      json(404, { error: { code: "not_found", message: "?" } });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    server.on("connection", (s) => cleanups.push(() => void s.destroy()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const source = new ApiRouteSource({
      client: new GantryClient({ addr: url, token: "t" }),
      pollMs: 100,
      log: () => undefined,
    });
    const seen: RouteSnapshot[] = [];
    const stop = source.watch((s) => seen.push(s));
    cleanups.push(stop);
    await within(1000, "an empty table", async () => seen.length > 0);
    expect(seen[0]).toEqual({ apps: [] });
    appsApi = true;
    await within(2000, "the app once the API has it", async () => seen.length > 1);
    expect(seen.at(-1)).toEqual({
      apps: [{ name: "late", domains: [], instances: [{ address: "127.0.0.1", port: 9 }] }],
    });
  });

  it("keeps its table and its index when a server without quorum refuses a blocking read", async () => {
    const asked: string[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const json = (status: number, body: unknown, index?: number): void => {
        res.writeHead(status, {
          "content-type": "application/json",
          ...(index === undefined ? {} : { "x-gantry-index": String(index) }),
        });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === "/v1/apps") {
        const index = url.searchParams.get("index");
        asked.push(index ?? "none");
        // First the app; then a server whose member is behind: it refuses the blocking read,
        // and a plain read would answer its older view (no apps, index 3).
        if (asked.length === 1) return json(200, [{ name: "a", domains: [] }], 7);
        if (index === null) return json(200, [], 3);
        const message = "the control plane has lost quorum: 1 of 3 servers reachable; read-only";
        return void setTimeout(() => json(503, { error: { code: "no_quorum", message } }), 20);
      }
      if (url.pathname === "/v1/catalog/service/a")
        return json(200, [{ address: "127.0.0.1", port: 9, status: "passing" }], 7);
      json(404, { error: { code: "not_found", message: "?" } });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    server.on("connection", (s) => cleanups.push(() => void s.destroy()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const logs: string[] = [];
    const source = new ApiRouteSource({
      client: new GantryClient({ addr: url, token: "t" }),
      pollMs: 100,
      log: (l) => logs.push(l),
    });
    const seen: RouteSnapshot[] = [];
    const stop = source.watch((s) => seen.push(s));
    cleanups.push(stop);
    await within(3000, "three refused blocking reads", async () => asked.length >= 4);
    expect(asked.slice(1, 4)).toEqual(["7", "7", "7"]);
    expect(seen.at(-1)?.apps.map((a) => a.name)).toEqual(["a"]);
    expect(logs.filter((l) => l.includes("lost quorum"))).toHaveLength(1);
  });
});
