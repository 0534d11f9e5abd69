/**
 * Per-app HTTP→HTTPS redirects and HSTS (issue 13): the pieces decided when the table is built,
 * and the router's 308 answer.
 */

/** ACME HTTP-01 challenges must be answered over plain HTTP (RFC 8555 §8.3): never redirected. */
export const ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

/** Whether a certificate named in `names` (exact or `*.` one label up) covers `host`. */
export function covers(names: ReadonlySet<string>, host: string): boolean {
  if (names.has(host)) return true;
  const dot = host.indexOf(".");
  return dot > 0 && names.has("*" + host.slice(dot));
}

/** `https://host`, with the port unless it is 443. */
export function httpsBase(host: string, port: number): string {
  return port === 443 ? `https://${host}` : `https://${host}:${port}`;
}

/** The header line for an HSTS max-age in seconds; null for none (absent or 0). */
export function hstsLine(seconds: number | undefined): string | null {
  return seconds === undefined || seconds <= 0
    ? null
    : `strict-transport-security: max-age=${seconds}\r\n`;
}

/** Whether a response head (as forwarded) already sets Strict-Transport-Security. */
export function setsHsts(head: string): boolean {
  return /\r\nstrict-transport-security:/i.test(head);
}

/** A 308 to `location` (308 keeps the method and body, unlike 301). */
export function redirectResponse(location: string, requestId: string, close: boolean): string {
  return (
    "HTTP/1.1 308 Permanent Redirect\r\n" +
    `location: ${location}\r\n` +
    "content-length: 0\r\n" +
    `x-request-id: ${requestId}\r\n` +
    "x-gantry-router: 308\r\n" +
    (close ? "connection: close\r\n" : "") +
    "\r\n"
  );
}
