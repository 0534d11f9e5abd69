/**
 * Dashboard logins (docs/ui.md, "Logging in") and the dashboard's files at /ui, against a real
 * API server over real HTTP: one-time links, token login, cookie sessions with CSRF, logout,
 * revocation, two servers on one store, and `gantry ui`.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthFailureLimiter } from "../src/api/auth-limiter.js";
import { createApiServer, type ApiServer } from "../src/api/server.js";
import { UiFiles } from "../src/api/ui-static.js";
import { K } from "../src/model/keys.js";
import type { AuditEntry } from "../src/model/token.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { gantry } from "./helpers/cli-in-process.js";

let t: TestApi;
let dir: string;
const sha = (s: string): string => createHash("sha256").update(s).digest("hex");
const INDEX = "<!doctype html><title>Gantry</title><div id=root></div>";
const ASSET = `export const x = ${JSON.stringify("gantry ".repeat(200))};\n`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gantry-ui-auth-"));
  mkdirSync(join(dir, "dist", "assets"), { recursive: true });
  writeFileSync(join(dir, "dist", "index.html"), INDEX);
  writeFileSync(join(dir, "dist", "assets", "index-abc123.js"), ASSET);
  writeFileSync(join(dir, "dist", "favicon.svg"), "<svg/>");
  writeFileSync(join(dir, "secret.txt"), "TOPSECRET");
  t = await startTestApi({ uiDist: join(dir, "dist") });
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

async function call(
  method: string,
  path: string,
  opts: { cookie?: string; csrf?: string; bearer?: string; body?: unknown; base?: string } = {},
): Promise<Answer & { json: () => Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (opts.cookie !== undefined) headers["cookie"] = `theme=dark; gantry_session=${opts.cookie}`;
  if (opts.csrf !== undefined) headers["x-gantry-csrf"] = opts.csrf;
  if (opts.bearer !== undefined) headers["authorization"] = `Bearer ${opts.bearer}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch((opts.base ?? t.url) + path, {
    method,
    headers,
    redirect: "manual",
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const body = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body,
    json: () => JSON.parse(body) as Record<string, unknown>,
  };
}

/** The session cookie's value in a Set-Cookie answer. */
const cookieOf = (a: Answer): string | undefined => {
  const c = a.headers.getSetCookie().find((h) => h.startsWith("gantry_session="));
  return c === undefined ? undefined : c.slice("gantry_session=".length).split(";")[0];
};

async function newLink(bearer = t.adminToken, base = t.url): Promise<string> {
  const r = await call("POST", "/v1/ui/links", { bearer, base });
  expect(r.status).toBe(201);
  return (r.json() as { url: string }).url;
}

/** Log in with a fresh link: the cookie value and the session's csrf. */
async function login(bearer = t.adminToken): Promise<{ cookie: string; csrf: string }> {
  const url = new URL(await newLink(bearer));
  const r = await call("GET", url.pathname + url.search);
  const cookie = cookieOf(r)!;
  const s = await call("GET", "/v1/ui/session", { cookie });
  return { cookie, csrf: s.json()["csrf"] as string };
}

async function auditEntries(): Promise<AuditEntry[]> {
  const res = await t.store.range({ prefix: K.audit });
  return res.kvs.map((kv) => JSON.parse(Buffer.from(kv.value).toString("utf8")) as AuditEntry);
}

/** GET a raw request target (fetch would resolve dot segments before sending). */
function rawGet(target: string): Promise<Answer> {
  const u = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: target, method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: new Headers(res.headers as Record<string, string>),
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("one-time login links", () => {
  it("a link logs in once: a cookie and 303 to /ui/; used again it sends to the login page", async () => {
    const url = await newLink();
    expect(url).toMatch(new RegExp(`^${t.url}/ui/login\\?code=[A-Za-z0-9_-]{43}$`));
    const code = new URL(url).searchParams.get("code")!;
    const head = await call("HEAD", `/ui/login?code=${code}`);
    expect([head.status, cookieOf(head)]).toEqual([200, undefined]); // a HEAD leaves it unused
    const first = await call("GET", `/ui/login?code=${code}`);
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("/ui/");
    expect(first.headers.get("referrer-policy")).toBe("no-referrer");
    const set = first.headers.getSetCookie().join("\n");
    expect(set).toMatch(/^gantry_session=[A-Za-z0-9_-]{43}; /);
    for (const attr of ["HttpOnly", "SameSite=Strict", "Path=/"]) expect(set).toContain(attr);
    expect(set).not.toContain("Secure"); // plain HTTP here
    const cookie = cookieOf(first)!;

    const again = await call("GET", `/ui/login?code=${code}`);
    expect(again.status).toBe(303);
    expect(again.headers.get("location")).toBe("/ui/login?error=link");
    expect(cookieOf(again)).toBeUndefined();

    // The store holds hashes only: the link is gone, the session is under sha256(cookie).
    expect((await t.store.range({ prefix: K.uiLinks + sha(code) })).kvs).toHaveLength(0);
    const kv = await t.store.get(K.uiSessions + sha(cookie));
    expect(kv).toBeDefined();
    expect(kv!.lease).not.toBe("0");
    const all = await t.store.range({ prefix: "sys/ui-" });
    for (const x of all.kvs) {
      expect(Buffer.from(x.value).toString()).not.toContain(cookie);
      expect(Buffer.from(x.value).toString()).not.toContain(code);
    }
  });

  it("an expired, unknown or malformed link is refused", async () => {
    const code = new URL(await newLink()).searchParams.get("code")!;
    const key = K.uiLinks + sha(code);
    const rec = JSON.parse(Buffer.from((await t.store.get(key))!.value).toString()) as object;
    await t.store.put(
      key,
      JSON.stringify({ ...rec, expiresAt: new Date(Date.now() - 1).toISOString() }),
    );
    for (const c of [code, "A".repeat(43), "nonsense", ""]) {
      const r = await call("GET", `/ui/login?code=${c}`);
      expect([c, r.status, r.headers.get("location")]).toEqual([c, 303, "/ui/login?error=link"]);
      expect(cookieOf(r)).toBeUndefined();
    }
  });

  it("making a link needs a token, and is audited as it", async () => {
    expect((await call("POST", "/v1/ui/links")).status).toBe(401);
    const viewer = await t.clientWith(
      [{ resource: "kv", prefix: "", access: "read" }],
      "ui-viewer",
    );
    await newLink(viewer.secret);
    const entries = await auditEntries();
    expect(entries.some((e) => e.action === "ui.link" && e.token === "ui-viewer")).toBe(true);
  });
});

describe("sessions", () => {
  it("a session acts as its token: reads work, the session says who and gives the csrf", async () => {
    const op = await t.clientWith([{ resource: "kv", prefix: "ui/", access: "write" }], "ui-op");
    const { cookie, csrf } = await login(op.secret);
    const s = await call("GET", "/v1/ui/session", { cookie });
    expect(s.status).toBe(200);
    expect(s.json()).toMatchObject({ name: "ui-op", csrf, policies: [{ prefix: "ui/" }] });
    expect(Date.parse(s.json()["expiresAt"] as string) - Date.now()).toBeGreaterThan(
      11.9 * 3600_000,
    );
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await t.admin.kvPut("ui/seen", "yes");
    const read = await call("GET", "/v1/kv/ui/seen", { cookie });
    expect(read.status).toBe(200);
    // Its token's limits hold: outside ui/ it may not read.
    expect((await call("GET", "/v1/kv/other", { cookie })).status).toBe(403);
    // With a bearer token there is no session to show.
    expect((await call("GET", "/v1/ui/session", { bearer: op.secret })).status).toBe(404);
    // An unknown cookie is refused.
    expect((await call("GET", "/v1/kv/ui/seen", { cookie: "B".repeat(43) })).status).toBe(401);
  });

  it("a change needs the csrf header: without it 403 csrf and nothing changes; with it, audited as the token", async () => {
    const op = await t.clientWith(
      [{ resource: "kv", prefix: "ui/", access: "write" }],
      "ui-writer",
    );
    const { cookie, csrf } = await login(op.secret);
    const before = (await t.store.status()).revision;
    for (const bad of [undefined, "wrong", csrf.slice(1)]) {
      const r = await call("PUT", "/v1/kv/ui/k", {
        cookie,
        body: "v",
        ...(bad === undefined ? {} : { csrf: bad }),
      });
      expect(r.status).toBe(403);
      expect((r.json()["error"] as { code: string }).code).toBe("csrf");
    }
    expect((await t.store.status()).revision).toBe(before);
    expect(await t.store.get(`${K.kv}ui/k`)).toBeUndefined();

    const ok = await call("PUT", "/v1/kv/ui/k", { cookie, csrf, body: "v" });
    expect(ok.status).toBe(200);
    expect(await t.store.get(`${K.kv}ui/k`)).toBeDefined();
    const entries = await auditEntries();
    const put = entries.find((e) => e.action === "kv.put" && e.target === "ui/k");
    expect(put).toMatchObject({ token: "ui-writer", tokenId: expect.stringMatching(/^tok_/) });
    expect(entries.some((e) => e.action === "ui.login" && e.token === "ui-writer")).toBe(true);
    // A bearer token needs no csrf (the CLI is unchanged).
    expect((await call("PUT", "/v1/kv/ui/k2", { bearer: op.secret, body: "v" })).status).toBe(200);
  });

  it("revoking or rotating the token ends its sessions", async () => {
    const a = await t.clientWith([{ resource: "kv", prefix: "ui/", access: "read" }], "ui-revoked");
    const b = await t.clientWith([{ resource: "kv", prefix: "ui/", access: "read" }], "ui-rotated");
    const sa = await login(a.secret);
    const sb = await login(b.secret);
    expect((await call("GET", "/v1/ui/session", { cookie: sa.cookie })).status).toBe(200);
    expect((await call("GET", "/v1/ui/session", { cookie: sb.cookie })).status).toBe(200);
    await t.api.deps.tokens.revoke("ui-revoked");
    await t.api.deps.tokens.rotate("ui-rotated");
    expect((await call("GET", "/v1/ui/session", { cookie: sa.cookie })).status).toBe(401);
    expect((await call("GET", "/v1/ui/session", { cookie: sb.cookie })).status).toBe(401);
  });

  it("logout ends the session, clears the cookie and is audited", async () => {
    const { cookie, csrf } = await login();
    expect((await call("POST", "/v1/ui/logout", { cookie })).status).toBe(403); // no csrf
    const out = await call("POST", "/v1/ui/logout", { cookie, csrf });
    expect(out.status).toBe(200);
    expect(out.json()).toEqual({ loggedOut: true });
    expect(out.headers.getSetCookie().join()).toMatch(/^gantry_session=; .*Max-Age=0/);
    expect((await call("GET", "/v1/ui/session", { cookie })).status).toBe(401);
    expect(await t.store.get(K.uiSessions + sha(cookie))).toBeUndefined();
    expect((await auditEntries()).some((e) => e.action === "ui.logout")).toBe(true);
  });
});

describe("token login", () => {
  it("a token logs in; a wrong one is refused, then rate-limited (a right one still works)", async () => {
    const ok = await call("POST", "/v1/ui/login", { body: { token: t.adminToken } });
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({ name: expect.stringMatching(/^admin-/) });
    const cookie = cookieOf(ok)!;
    expect((await call("GET", "/v1/ui/session", { cookie })).json()["csrf"]).toBe(
      ok.json()["csrf"],
    );

    // A form (text/plain) cannot log a browser in.
    const form = await fetch(`${t.url}/v1/ui/login`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ token: t.adminToken }),
    });
    expect(form.status).toBe(415);

    const saved = t.api.deps.tokens.failures;
    t.api.deps.tokens.failures = new AuthFailureLimiter({ max: 3 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push(
          (await call("POST", "/v1/ui/login", { body: { token: "gty_wrong" } })).status,
        );
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      // The same limiter as bearer auth: a wrong bearer token is limited too.
      const bearer = await call("GET", "/v1/kv/x", { bearer: "gty_wrong" });
      expect(bearer.status).toBe(429);
      expect(Number(bearer.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await call("POST", "/v1/ui/login", { body: { token: t.adminToken } })).status).toBe(
        200,
      );
    } finally {
      t.api.deps.tokens.failures = saved;
    }
  });
});

describe("two API servers on one store", () => {
  let other: ApiServer;
  let otherUrl: string;
  beforeAll(async () => {
    other = await createApiServer({
      store: t.store,
      log: () => undefined,
      uiDist: join(dir, "dist"),
    });
    otherUrl = `http://127.0.0.1:${(await other.listen("127.0.0.1", 0)).port}`;
  });
  afterAll(async () => other?.close());

  it("a link made on one is used on the other; a logout on one ends the session on both", async () => {
    const url = new URL(await newLink(t.adminToken, otherUrl));
    expect(url.origin).toBe(otherUrl);
    const r = await call("GET", url.pathname + url.search); // on the first server
    const cookie = cookieOf(r)!;
    const s = await call("GET", "/v1/ui/session", { cookie, base: otherUrl });
    expect(s.status).toBe(200);
    const csrf = s.json()["csrf"] as string;
    expect((await call("GET", "/v1/ui/session", { cookie })).status).toBe(200);
    expect((await call("POST", "/v1/ui/logout", { cookie, csrf, base: otherUrl })).status).toBe(
      200,
    );
    // The first server re-reads a session it has cached within a second.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call("GET", "/v1/ui/session", { cookie })).status).toBe(401);
  });
});

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

/** GET with headers, the body as raw bytes (fetch would undo the gzip). */
function rawGetWith(
  target: string,
  headers: Record<string, string>,
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}> {
  const u = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}
