import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TokenRecord } from "../model/token.js";
import {
  cookieValue,
  isCode,
  newCode,
  sessionInfo,
  setCookie,
  standingToken,
  tokenCheck,
  type UiSession,
} from "./ui-records.js";
import { acceptsGzip, packageRoot } from "./ui-static.js";

const token: TokenRecord = {
  id: "tok_1",
  name: "ops",
  secretHash: "a".repeat(64),
  policies: [{ admin: true }],
  createdAt: "2026-01-01T00:00:00.000Z",
  createdBy: "test",
};

describe("dashboard session records", () => {
  it("finds the session cookie among others, and only that name", () => {
    expect(cookieValue("a=1; gantry_session=abc; b=2")).toBe("abc");
    expect(cookieValue("gantry_session_x=1; xgantry_session=2")).toBeUndefined();
    expect(cookieValue(undefined)).toBeUndefined();
  });

  it("sets the cookie HttpOnly, SameSite=Strict, for 12 h; Secure only over TLS; clears it", () => {
    expect(setCookie("v", false)).toBe(
      "gantry_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200",
    );
    expect(setCookie("v", true)).toMatch(/; Secure$/);
    expect(setCookie("", false)).toContain("Max-Age=0");
  });

  it("codes are 43 base64url characters and nothing else passes", () => {
    expect(isCode(newCode())).toBe(true);
    expect(newCode()).not.toBe(newCode());
    for (const bad of ["", "x", "A".repeat(42), "A".repeat(44), `${"A".repeat(42)}/`])
      expect(isCode(bad)).toBe(false);
  });

  it("a token stands while its id, secret and expiry hold", () => {
    const rec = { tokenId: "tok_1", tokenCheck: tokenCheck(token) };
    const now = Date.parse("2026-06-01T00:00:00Z");
    expect(standingToken(token, rec, now)).toBe(token);
    expect(standingToken(undefined, rec, now)).toBeUndefined();
    expect(standingToken({ ...token, secretHash: "b".repeat(64) }, rec, now)).toBeUndefined();
    const expiring = { ...token, expiresAt: "2026-05-01T00:00:00.000Z" };
    expect(standingToken(expiring, { ...rec }, now)).toBeUndefined();
  });

  it("a session shows the earlier of its own and its token's expiry", () => {
    const s: UiSession = {
      tokenId: "tok_1",
      tokenCheck: tokenCheck(token),
      csrf: "c",
      createdAt: "2026-06-01T00:00:00.000Z",
      expiresAt: "2026-06-01T12:00:00.000Z",
      via: "link",
    };
    expect(sessionInfo(s, token).expiresAt).toBe(s.expiresAt);
    const soon = { ...token, expiresAt: "2026-06-01T01:00:00.000Z" };
    expect(sessionInfo(s, soon)).toEqual({
      name: "ops",
      tokenId: "tok_1",
      policies: [{ admin: true }],
      csrf: "c",
      expiresAt: soon.expiresAt,
    });
  });
});

describe("the dashboard's files", () => {
  it("gzip is taken unless refused with q=0", () => {
    expect(acceptsGzip("gzip, deflate, br")).toBe(true);
    expect(acceptsGzip("br;q=1, gzip;q=0.5")).toBe(true);
    expect(acceptsGzip("gzip;q=0")).toBe(false);
    expect(acceptsGzip("*")).toBe(true);
    expect(acceptsGzip("br")).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });

  it("the package root is found from a module's directory", () => {
    const root = packageRoot();
    expect(packageRoot(join(root, "src", "api"))).toBe(root);
    expect(packageRoot(join(root, "dist", "api"))).toBe(root);
  });
});
