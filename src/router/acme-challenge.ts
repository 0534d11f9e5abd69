/**
 * ACME HTTP-01 (RFC 8555 §8.3): the CA fetches `http://<domain>/.well-known/acme-challenge/<token>`
 * and expects the key authorization. The router answers it for any host on its HTTP listener,
 * before routing or redirects, from what the server stored for the token.
 */
import type { RequestHead } from "./http1.js";

const PREFIX = "/.well-known/acme-challenge/";
/** Tokens are base64url (RFC 8555 §8.1); anything else is not a challenge the server made. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const HIT_MS = 10_000;
/** Misses are kept briefly: the CA asks right after the key authorization is stored. */
const MISS_MS = 500;

/** Looks a token's key authorization up (undefined: no such challenge). */
export type ChallengeLookup = (token: string) => Promise<string | undefined>;

/** The token a request asks for, when it is a bodiless GET/HEAD of a challenge path. */
export function challengeToken(req: RequestHead): string | undefined {
  if (req.method !== "GET" && req.method !== "HEAD") return undefined;
  if (req.chunked || req.contentLength > 0 || !req.target.startsWith(PREFIX)) return undefined;
  const token = req.target.slice(PREFIX.length);
  return TOKEN.test(token) ? token : undefined;
}

/** The answer: 200 with the key authorization as text, or 404. */
export function challengeResponse(
  keyAuth: string | undefined,
  opts: { requestId: string; close: boolean; head: boolean },
): string {
  const status = keyAuth === undefined ? "404 Not Found" : "200 OK";
  const body = keyAuth ?? "no such ACME challenge\n";
  return (
    `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\n` +
    `x-request-id: ${opts.requestId}\r\n` +
    (opts.close ? "connection: close\r\n" : "") +
    "\r\n" +
    (opts.head ? "" : body)
  );
}

/**
 * A lookup with a short cache and one request in flight per token: the CA asks from several
 * vantage points at once, and a failing server must not turn each ask into an API call.
 */
export function cachedLookup(lookup: ChallengeLookup, now = Date.now): ChallengeLookup {
  const cache = new Map<string, { value: string | undefined; until: number }>();
  const inflight = new Map<string, Promise<string | undefined>>();
  return async (token) => {
    const hit = cache.get(token);
    if (hit !== undefined && hit.until > now()) return hit.value;
    const pending = inflight.get(token);
    if (pending !== undefined) return pending;
    const p = lookup(token)
      .catch(() => undefined)
      .then((value) => {
        if (cache.size > 1000) cache.clear();
        cache.set(token, { value, until: now() + (value === undefined ? MISS_MS : HIT_MS) });
        return value;
      })
      .finally(() => inflight.delete(token));
    inflight.set(token, p);
    return p;
  };
}
