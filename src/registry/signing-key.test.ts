import { createPublicKey, verify, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { signRegistryToken } from "./jwt.js";
import { libtrustKeyId } from "./libtrust.js";
import { loadOrCreateSigningKey } from "./signing-key.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-regkey-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("registry token signing", () => {
  it("makes the key once (0600) with a certificate for it, and reuses both", async () => {
    const first = await loadOrCreateSigningKey(dir);
    expect(statSync(join(dir, "token.key")).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateSigningKey(dir);
    expect(again.kid).toBe(first.kid);
    const cert = new X509Certificate(readFileSync(first.certPath));
    const certKey = cert.publicKey.export({ type: "spki", format: "der" });
    expect(libtrustKeyId(certKey)).toBe(first.kid);
    expect(first.kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it("signs ES256 JWTs in JOSE form that the certificate's key verifies", async () => {
    const k = await loadOrCreateSigningKey(dir);
    const access = [{ type: "repository", name: "web", actions: ["pull"] }];
    const jwt = signRegistryToken(
      k.key,
      k.kid,
      {
        issuer: "gantry",
        service: "gantry-registry",
        subject: "ci",
        access,
        ttlSeconds: 300,
      },
      1_000_000_000_000,
    );
    const [h, p, s] = jwt.split(".");
    const header = JSON.parse(Buffer.from(h!, "base64url").toString());
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    expect(header).toEqual({ typ: "JWT", alg: "ES256", kid: k.kid });
    expect(claims).toMatchObject({ iss: "gantry", aud: "gantry-registry", sub: "ci", access });
    expect(claims.exp - claims.iat).toBe(300);
    const sig = Buffer.from(s!, "base64url");
    expect(sig.length).toBe(64);
    const ok = verify(
      "sha256",
      Buffer.from(`${h}.${p}`),
      {
        key: createPublicKey(k.key),
        dsaEncoding: "ieee-p1363",
      },
      sig,
    );
    expect(ok).toBe(true);
  });

  it("computes libtrust ids as docker does (known vector)", () => {
    // SHA-256 of the empty input, cut to 30 bytes, base32 in groups of four.
    expect(libtrustKeyId(new Uint8Array())).toBe(
      "4OYM:IQUY:7QOB:JGX3:6TEJ:S35Z:EQT2:4QPE:MSNZ:GTFE:SWMR:W6CS",
    );
  });
});
