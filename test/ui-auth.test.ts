/**
 * Dashboard logins (docs/ui.md, "Logging in") against a real API server over real HTTP:
 * one-time links, token login, cookie sessions with CSRF, logout, revocation, and two servers on
 * one store. The files at /ui and `gantry ui`: test/ui-static.test.ts.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthFailureLimiter } from "../src/api/auth-limiter.js";
import { createApiServer, type ApiServer } from "../src/api/server.js";
import { K } from "../src/model/keys.js";
import type { AuditEntry } from "../src/model/token.js";
import { type TestApi } from "./helpers/api.js";
import { cookieOf, uiHttp, uiTestServer } from "./helpers/ui-http.js";

let t: TestApi;
let dir: string;
let server: Awaited<ReturnType<typeof uiTestServer>>;
const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

beforeAll(async () => {
  server = await uiTestServer();
  ({ t, dir } = server);
});
afterAll(() => server?.close());

const { call } = uiHttp(() => t.url);

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
