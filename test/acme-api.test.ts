/**
 * The ACME routes on a real API server: the HTTP-01 key authorization routers fetch (router
 * token: yes; a token scoped to one app: no), and opting an app out of ACME.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACME_KEYS } from "../src/certs/acme-state.js";
import { acmeChallenge } from "../src/client/acme.js";
import { routerPolicies } from "../src/model/policies.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
  await t.store.put(
    ACME_KEYS.http01 + "tok-1_A",
    JSON.stringify({ keyAuthorization: "tok-1_A.thumb", app: "shop", createdAt: "now" }),
  );
});
afterAll(() => t.close());

describe("GET /v1/acme/http01/:token", () => {
  it("answers a router token with the key authorization, undefined for unknown tokens", async () => {
    const router = await t.clientWith(routerPolicies);
    expect(await acmeChallenge(router, "tok-1_A")).toBe("tok-1_A.thumb");
    expect(await acmeChallenge(router, "other")).toBeUndefined();
  });

  it("refuses a token that reads only some apps, and a token that is not base64url", async () => {
    const one = await t.clientWith([{ resource: "app", prefix: "shop", access: "read" }]);
    expect((await errorOf(acmeChallenge(one, "tok-1_A"))).status).toBe(403);
    const bad = await errorOf(t.admin.json("GET", "/v1/acme/http01/a.b"));
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/token/);
  });
});

describe("PUT /v1/apps/:app/acme", () => {
  it("opts an app out and back in; an unknown app is 404, a body without auto 400", async () => {
    await t.admin.json("POST", "/v1/apps", { body: { name: "shop" } });
    const off = await t.admin.json("PUT", "/v1/apps/shop/acme", { body: { auto: false } });
    expect(off).toEqual({ app: "shop", auto: false });
    expect(await t.store.get(ACME_KEYS.off + "shop")).toBeDefined();
    await t.admin.json("PUT", "/v1/apps/shop/acme", { body: { auto: true } });
    expect(await t.store.get(ACME_KEYS.off + "shop")).toBeUndefined();
    const missing = await errorOf(
      t.admin.json("PUT", "/v1/apps/nope/acme", { body: { auto: false } }),
    );
    expect(missing.status).toBe(404);
    const noBody = await errorOf(t.admin.json("PUT", "/v1/apps/shop/acme", { body: {} }));
    expect(noBody.status).toBe(400);
    expect(noBody.message).toMatch(/auto/);
  });
});
