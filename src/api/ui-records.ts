/**
 * The records behind dashboard logins (pure: schemas, codes, cookies). A login link is
 * `sys/ui-links/<sha256(code)>` on a 5 min lease; a session `sys/ui-sessions/<sha256(cookie)>`
 * on a 12 h lease. The store holds only hashes: neither a code nor a cookie can be read back.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import type { Principal } from "../model/principal.js";
import type { TokenRecord } from "../model/token.js";

export const LINK_TTL_S = 5 * 60;
export const SESSION_TTL_S = 12 * 3600;
export const COOKIE = "gantry_session";
export const CSRF_HEADER = "x-gantry-csrf";

export const UiLinkSchema = z.object({
  tokenId: z.string(),
  /** Which secret of the token made it: a rotated token's links stop working. */
  tokenCheck: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
});
export type UiLink = z.infer<typeof UiLinkSchema>;

export const UiSessionSchema = z.object({
  tokenId: z.string(),
  tokenCheck: z.string(),
  csrf: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  /** How it logged in: a one-time link or the token itself. */
  via: z.enum(["link", "token"]),
});
export type UiSession = z.infer<typeof UiSessionSchema>;

/** What `GET /v1/ui/session` answers (and `POST /v1/ui/login`). */
export interface UiSessionInfo {
  name: string;
  tokenId: string;
  policies: TokenRecord["policies"];
  csrf: string;
  expiresAt: string;
}

export const digest = (s: string): string => createHash("sha256").update(s).digest("hex");

/** 256 random bits, base64url (43 characters): link codes, cookie values, csrf tokens. */
export const newCode = (): string => randomBytes(32).toString("base64url");

/** Whether a string looks like something newCode made (anything else is refused unread). */
export const isCode = (s: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(s);

/** A fingerprint of the token's current secret (its hash, hashed again). */
export const tokenCheck = (t: TokenRecord): string => digest(`ui:${t.secretHash}`).slice(0, 16);

export const principalOf = (t: TokenRecord): Principal => ({
  tokenId: t.id,
  name: t.name,
  policies: t.policies,
});

/**
 * The token behind a link or session, when it still stands: not revoked, not rotated, not
 * expired.
 */
export function standingToken(
  t: TokenRecord | undefined,
  rec: { tokenId: string; tokenCheck: string },
  now: number,
): TokenRecord | undefined {
  if (t === undefined || t.id !== rec.tokenId || tokenCheck(t) !== rec.tokenCheck) return undefined;
  if (t.expiresAt !== undefined && Date.parse(t.expiresAt) <= now) return undefined;
  return t;
}

/** The session's answer: it ends at its own expiry or its token's, whichever comes first. */
export function sessionInfo(s: UiSession, t: TokenRecord): UiSessionInfo {
  const ends =
    t.expiresAt !== undefined && Date.parse(t.expiresAt) < Date.parse(s.expiresAt)
      ? t.expiresAt
      : s.expiresAt;
  return { name: t.name, tokenId: t.id, policies: t.policies, csrf: s.csrf, expiresAt: ends };
}

/** Equal strings, compared in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The session cookie's value in a Cookie header, if there is one. */
export function cookieValue(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie header that starts a session (or, with value "", ends it). */
export function setCookie(value: string, secure: boolean): string {
  const age = value === "" ? 0 : SESSION_TTL_S;
  return `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${age}${secure ? "; Secure" : ""}`;
}
