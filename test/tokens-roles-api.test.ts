/**
 * Roles, expiry, rotation, audited config reads and the failed-auth limiter, against a real API
 * server (helpers/api.ts) over HTTP.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthFailureLimiter } from "../src/api/auth-limiter.js";
import { newSecret } from "../src/api/tokens.js";
import { AppsClient } from "../src/client/apps.js";
import { GantryClient } from "../src/client/client.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;

beforeAll(async () => {
  t = await startTestApi();
  await new AppsClient(t.admin).create("hello");
  await new AppsClient(t.admin).create("hello-2");
});
afterAll(async () => t?.close());

const as = (secret: string): GantryClient => new GantryClient({ addr: t.url, token: secret });

/** A GET from a chosen local address: status, Retry-After, body. */
function getFrom(
  localAddress: string,
  secret: string,
): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${t.url}/v1/tokens/self`,
      { localAddress, headers: { authorization: `Bearer ${secret}` } },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers["retry-after"] as string | undefined,
            body,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("tokens from roles", () => {
  it("a deployer token keeps its role and apps, changes its app and no other", async () => {
    const made = await t.admin.tokensCreate("ci", [], { role: "deployer", apps: ["hello"] });
    expect(made).toMatchObject({ name: "ci", role: "deployer", apps: ["hello"] });
    const listed = (await t.admin.tokensList()).find((x) => x.name === "ci");
    expect(listed).toMatchObject({ role: "deployer", apps: ["hello"] });
    expect(listed).not.toHaveProperty("secret");
    const ci = new AppsClient(as(made.secret));
    expect((await ci.config("hello")).values).toEqual({});
    const other = await errorOf(ci.config("hello-2"));
    expect(other.status).toBe(403);
  });

  it("replacing a role token's policies drops its role; its expiry stays", async () => {
    const made = await t.admin.tokensCreate("was-viewer", [], { role: "viewer", ttl: "1h" });
    const next = await t.admin.tokensUpdate("was-viewer", [
      { resource: "kv", prefix: "", access: "read" },
    ]);
    expect(next).not.toHaveProperty("role");
    expect(next.expiresAt).toBe(made.expiresAt);
  });

  it("role and policies combine", async () => {
    const made = await t.admin.tokensCreate(
      "mixed",
      [{ resource: "kv", prefix: "ci/", access: "write" }],
      {
        role: "deployer",
        apps: ["hello"],
      },
    );
    expect(made.policies).toHaveLength(2);
    await as(made.secret).kvPut("ci/x", "1");
  });

  it("refuses bad roles, apps and ttls naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ role: "root" }, "role"],
      [{ role: "deployer" }, "apps"],
      [{ role: "viewer", apps: ["hello"] }, "apps"],
      [{ apps: ["hello"] }, "apps"],
      [{ role: "viewer", ttl: "forever" }, "ttl"],
      [{}, "policies"],
    ];
    for (const [opts, field] of cases) {
      const err = await errorOf(t.admin.tokensCreate(`bad-${field}`, [], opts));
      expect([err.status, err.field]).toEqual([400, field]);
    }
  });
});

describe("expiry and rotation", () => {
  it("an expired token is refused with when it expired", async () => {
    const made = await t.admin.tokensCreate("short", [], { role: "viewer", ttl: "1s" });
    expect(Date.parse(made.expiresAt!)).toBeGreaterThan(Date.now());
    await as(made.secret).tokensSelf();
    await new Promise((r) => setTimeout(r, 1100));
    const err = await errorOf(as(made.secret).tokensSelf());
    expect(err.status).toBe(401);
    expect(err.message).toBe(`token expired at ${made.expiresAt}`);
  });

  it("rotation gives a new secret; the old one stops working at once", async () => {
    const made = await t.admin.tokensCreate("rot", [], { role: "viewer" });
    const rotated = await t.admin.tokensRotate("rot");
    expect(rotated.secret).not.toBe(made.secret);
    expect(rotated.id).toBe(made.id);
    expect((await errorOf(as(made.secret).tokensSelf())).status).toBe(401);
    expect((await as(rotated.secret).tokensSelf()).name).toBe("rot");
    const audit = await t.admin.audit(50);
    expect(audit.some((e) => e.action === "token.rotate" && e.target === "rot")).toBe(true);
    expect((await errorOf(t.admin.tokensRotate("nope"))).status).toBe(404);
    const viewer = as(rotated.secret);
    expect((await errorOf(viewer.tokensRotate("rot"))).status).toBe(403);
  });
});

describe("config values", () => {
  it("a viewer cannot read them (a 403 that says why); a read is audited", async () => {
    const viewer = await t.admin.tokensCreate("view", [], { role: "viewer" });
    const err = await errorOf(new AppsClient(as(viewer.secret)).config("hello"));
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/config values of app "hello".*not by viewers/);
    const before = (await t.admin.audit(500)).filter((e) => e.action === "config.read").length;
    await new AppsClient(t.admin).config("hello");
    const reads = (await t.admin.audit(500)).filter((e) => e.action === "config.read");
    expect(reads.length).toBe(before + 1);
    expect(reads.at(-1)).toMatchObject({
      target: "hello",
      token: expect.stringMatching(/^admin-/),
    });
  });
});

describe("failed authentication", () => {
  it("slows one address after repeated failures; others and valid tokens are unaffected", async () => {
    t.api.deps.tokens.failures = new AuthFailureLimiter({ max: 3, windowMs: 60_000 });
    const wrong = newSecret();
    for (let i = 0; i < 3; i++) expect((await getFrom("127.0.0.1", wrong)).status).toBe(401);
    const limited = await getFrom("127.0.0.1", wrong);
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(60);
    expect(JSON.parse(limited.body)).toMatchObject({ error: { code: "too_many_requests" } });
    expect((await getFrom("127.0.0.1", t.adminToken)).status).toBe(200);
    expect((await getFrom("127.0.0.2", wrong)).status).toBe(401);
    // No token at all is not a guess: it still gets 401.
    expect((await getFrom("127.0.0.1", "")).status).toBe(401);
    t.api.deps.tokens.failures = new AuthFailureLimiter();
  });
});
