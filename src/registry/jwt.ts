import { randomBytes, sign, type KeyObject } from "node:crypto";

/** One grant in a registry token: `{type: "repository", name: "web", actions: ["pull"]}`. */
export interface ResourceActions {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenClaims {
  issuer: string;
  /** The registry's service name: the token's audience. */
  service: string;
  subject: string;
  access: ResourceActions[];
  ttlSeconds: number;
}

/**
 * A registry bearer token as distribution 2.8 verifies it: a JWT signed ES256 (raw r||s, as JOSE
 * wants, not DER) whose header names the key by its libtrust id (`kid`).
 */
export function signRegistryToken(
  key: KeyObject,
  kid: string,
  claims: TokenClaims,
  now = Date.now(),
): string {
  const iat = Math.floor(now / 1000);
  const header = { typ: "JWT", alg: "ES256", kid };
  const payload = {
    iss: claims.issuer,
    sub: claims.subject,
    aud: claims.service,
    exp: iat + claims.ttlSeconds,
    // A little in the past: a registry clock slightly behind ours still takes it at once.
    nbf: iat - 10,
    iat,
    jti: randomBytes(12).toString("hex"),
    access: claims.access,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const sig = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64url(sig)}`;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}
