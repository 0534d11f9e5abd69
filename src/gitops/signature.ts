/**
 * Webhook signatures: the only way `POST /v1/stack/webhook` is authenticated (it takes no
 * token: GitHub and Gitea cannot send one). Both sign the raw body with HMAC-SHA256 and the
 * webhook's secret: GitHub as `X-Hub-Signature-256: sha256=<hex>`, Gitea as
 * `X-Gitea-Signature: <hex>`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type SignatureCheck = { ok: true; header: string } | { ok: false; reason: string };

type Headers = Record<string, string | string[] | undefined>;

const one = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The hex HMAC-SHA256 of `body` with `secret`. */
export function signBody(body: Uint8Array, secret: string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** Whether the request carries a valid signature of `body` (header names in lower case). */
export function checkSignature(headers: Headers, body: Uint8Array, secret: string): SignatureCheck {
  const github = one(headers, "x-hub-signature-256");
  const gitea = one(headers, "x-gitea-signature");
  let header: string;
  let given: string;
  if (github !== undefined) {
    header = "X-Hub-Signature-256";
    if (!github.startsWith("sha256="))
      return { ok: false, reason: `${header} must be sha256=<hex>` };
    given = github.slice(7);
  } else if (gitea !== undefined) {
    header = "X-Gitea-Signature";
    given = gitea;
  } else {
    return { ok: false, reason: "no signature: send X-Hub-Signature-256 or X-Gitea-Signature" };
  }
  const expected = Buffer.from(signBody(body, secret), "hex");
  const got = /^[0-9a-fA-F]{64}$/.test(given.trim()) ? Buffer.from(given.trim(), "hex") : undefined;
  // Equal lengths before timingSafeEqual: the expected length is public (32 bytes).
  if (got === undefined || !timingSafeEqual(got, expected)) {
    return { ok: false, reason: `the ${header} signature does not match the body` };
  }
  return { ok: true, header };
}
