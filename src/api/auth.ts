import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "../errors.js";
import type { Principal } from "../model/principal.js";
import type { TokenRecord } from "../model/token.js";
import { unauthorized } from "./errors.js";
import type { TokenRegistry } from "./tokens.js";

/**
 * The caller of a request, from `Authorization: Bearer <secret>` (or Basic auth with the secret
 * as password, which is what git sends for pushes). 401 when missing, unknown or expired; 429
 * (with Retry-After on `res`) when the client's address failed too often lately. A valid token
 * is never slowed down: its secret is 256 random bits, not something one guesses.
 * (A dashboard session cookie is the other way in: src/api/ui-sessions.ts.)
 */
export function authenticate(
  req: IncomingMessage,
  tokens: TokenRegistry,
  res?: ServerResponse,
  now = Date.now(),
): Principal {
  const header = req.headers.authorization;
  let secret: string | undefined;
  if (header?.startsWith("Bearer ")) secret = header.slice(7).trim();
  else if (header?.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    secret = decoded.slice(decoded.indexOf(":") + 1);
  }
  if (secret === undefined || secret === "") throw unauthorized();
  const rec = tokenOf(secret, req, tokens, res, now);
  return { tokenId: rec.id, name: rec.name, policies: rec.policies };
}

/**
 * The token a secret belongs to. An unknown secret counts as a failure of the client's address
 * (401, then 429 with Retry-After past the limit); an expired token is a 401 naming its expiry.
 */
export function tokenOf(
  secret: string,
  req: IncomingMessage,
  tokens: TokenRegistry,
  res?: ServerResponse,
  now = Date.now(),
): TokenRecord {
  const rec = tokens.authenticate(secret);
  if (rec === undefined) {
    const address = req.socket.remoteAddress ?? "unknown";
    const wait = tokens.failures.retryAfter(address);
    if (wait > 0) {
      res?.setHeader("retry-after", String(wait));
      throw new HttpError(
        429,
        "too_many_requests",
        `too many failed authentications from ${address}; retry in ${wait}s`,
      );
    }
    tokens.failures.fail(address);
    throw unauthorized("the token is not valid (unknown or revoked)");
  }
  if (rec.expiresAt !== undefined && Date.parse(rec.expiresAt) <= now) {
    throw unauthorized(`token expired at ${rec.expiresAt}`);
  }
  return rec;
}
