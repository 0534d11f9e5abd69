/**
 * The dashboard's files at /ui (docs/ui.md, "Logging in") and `gantry ui`, against a real API
 * server over real HTTP: index and SPA fallback with the security headers, gzipped immutable
 * assets, traversal refused, 503 when unbuilt; a link from the CLI that logs in.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UiFiles } from "../src/api/ui-static.js";
import { type TestApi } from "./helpers/api.js";
import { gantry } from "./helpers/cli-in-process.js";
import { ASSET, cookieOf, INDEX, uiHttp, uiTestServer } from "./helpers/ui-http.js";

let t: TestApi;
let dir: string;
let server: Awaited<ReturnType<typeof uiTestServer>>;

beforeAll(async () => {
  server = await uiTestServer();
  ({ t, dir } = server);
});
afterAll(() => server?.close());

const { call, rawGet, rawGetWith } = uiHttp(() => t.url);

describe("the dashboard's files", () => {
  it("serves index.html at /ui, /ui/ and any app path, with the security headers", async () => {
    for (const path of ["/ui", "/ui/", "/ui/apps/web", "/ui/login", "/ui/login?error=link"]) {
      const r = await call("GET", path);
      expect([path, r.status, r.body]).toEqual([path, 200, INDEX]);
      expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(r.headers.get("cache-control")).toBe("no-cache");
      expect(r.headers.get("content-security-policy")).toContain("default-src 'self'");
      expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });

  it("hashed assets are immutable and gzipped when asked; a missing one is a 404", async () => {
    const raw = await rawGetWith("/ui/assets/index-abc123.js", { "accept-encoding": "gzip, br" });
    expect(raw.status).toBe(200);
    expect(raw.headers["content-encoding"]).toBe("gzip");
    expect(raw.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(raw.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(raw.body.length).toBeLessThan(ASSET.length / 4);
    expect(gunzipSync(raw.body).toString()).toBe(ASSET);
    const plain = await rawGetWith("/ui/assets/index-abc123.js", {});
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.toString()).toBe(ASSET);
    const refused = await rawGetWith("/ui/assets/index-abc123.js", {
      "accept-encoding": "gzip;q=0",
    });
    expect(refused.headers["content-encoding"]).toBeUndefined();
    const missing = await call("GET", "/ui/assets/gone-000.js");
    expect(missing.status).toBe(404);
    expect((missing.json()["error"] as { code: string }).code).toBe("not_found");
    expect((await call("GET", "/ui/favicon.svg")).body).toBe("<svg/>");
  });

  it("no path reaches outside the dist directory", async () => {
    for (const target of [
      "/ui/../secret.txt",
      "/ui/..%2fsecret.txt",
      "/ui/%2e%2e/secret.txt",
      "/ui/%2e%2e%2fsecret.txt",
      "/ui/assets/..%2f..%2fsecret.txt",
      "/ui/..%5csecret.txt",
      "/ui/assets%2f..%2f..%2f..%2fpackage.json",
      "/ui//etc/passwd",
      "/ui/%00",
      "/ui/%",
    ]) {
      const r = await rawGet(target);
      expect([target, r.status === 400 || (r.status === 200 && r.body === INDEX)]).toEqual([
        target,
        true,
      ]);
      expect(r.body).not.toContain("TOPSECRET");
      expect(r.body).not.toContain('"name": "gantry"');
    }
  });

  it("answers 503 ui_not_built when the dashboard is not built", async () => {
    const saved = t.api.deps.uiFiles;
    t.api.deps.uiFiles = new UiFiles(join(dir, "nowhere"));
    try {
      const r = await call("GET", "/ui/");
      expect(r.status).toBe(503);
      expect(r.json()["error"]).toMatchObject({ code: "ui_not_built" });
      expect((r.json()["error"] as { message: string }).message).toContain("npm run build");
    } finally {
      t.api.deps.uiFiles = saved;
    }
  });

  it("the OpenAPI document lists the /v1/ui routes", async () => {
    const doc = (await call("GET", "/v1/openapi.json", { bearer: t.adminToken })).json() as {
      paths: Record<string, Record<string, { security: unknown[] }>>;
    };
    expect(Object.keys(doc.paths["/v1/ui/links"]!)).toEqual(["post"]);
    expect(doc.paths["/v1/ui/login"]!["post"]!.security).toEqual([]);
    expect(doc.paths["/v1/ui/session"]!["get"]).toBeDefined();
    expect(doc.paths["/v1/ui/logout"]!["post"]).toBeDefined();
  });
});

describe("gantry ui", () => {
  beforeAll(() => {
    process.env["GANTRY_ADDR"] = t.url;
    process.env["GANTRY_TOKEN"] = t.adminToken;
  });
  afterAll(() => {
    delete process.env["GANTRY_ADDR"];
    delete process.env["GANTRY_TOKEN"];
  });

  it("--json prints a link that logs in", async () => {
    const r = await gantry("ui", "--json");
    expect(r.code).toBe(0);
    const link = JSON.parse(r.out) as { url: string; expiresAt: string };
    expect(Date.parse(link.expiresAt) - Date.now()).toBeGreaterThan(4 * 60_000);
    const url = new URL(link.url);
    expect(url.origin).toBe(t.url);
    const login = await call("GET", url.pathname + url.search);
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("/ui/");
    expect((await call("GET", "/v1/ui/session", { cookie: cookieOf(login)! })).status).toBe(200);
  });

  it("--open hands the link to xdg-open as one argument (no shell)", async () => {
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    const opened = join(dir, "opened");
    writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s|%s' "$#" "$1" > '${opened}'\n`, {
      mode: 0o755,
    });
    const path = process.env["PATH"];
    process.env["PATH"] = `${bin}:${path ?? ""}`;
    try {
      const r = await gantry("ui", "--open");
      expect(r.code).toBe(0);
      const url = /(http:\S+)/.exec(r.out)![1]!;
      for (let i = 0; i < 50 && !existsSync(opened); i++)
        await new Promise((ok) => setTimeout(ok, 20));
      await new Promise((ok) => setTimeout(ok, 50));
      expect(readFileSync(opened, "utf8")).toBe(`1|${url}`);
    } finally {
      process.env["PATH"] = path;
    }
  });

  it("prints the link in words, and has help with examples", async () => {
    const r = await gantry("ui");
    expect(r.out).toMatch(
      /^Open this link within 5 minutes \(it works once\):\n {2}http:\/\/127\.0\.0\.1:\d+\/ui\/login\?code=[A-Za-z0-9_-]{43}$/,
    );
    const help = await gantry("ui", "--help");
    expect(help.out).toContain("--open");
    expect(help.out).toContain("$ gantry ui --no-open");
  });
});
