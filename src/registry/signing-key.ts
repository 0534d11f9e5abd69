import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/write-atomic.js";
import { libtrustKeyId } from "./libtrust.js";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const YEARS = 10;

/** Gantry's registry token-signing key: the private key, its libtrust id and the certificate file. */
export interface SigningKey {
  key: KeyObject;
  kid: string;
  /** The certificate the registry trusts (its `auth.token.rootcertbundle`). */
  certPath: string;
}

/**
 * The token-signing key (P-256, `token.key`, mode 0600) and a self-signed certificate for it
 * (`token.crt`) in `dir`: made once, then reused. A lost certificate is made again from the key.
 */
export async function loadOrCreateSigningKey(dir: string): Promise<SigningKey> {
  const keyPath = join(dir, "token.key");
  const certPath = join(dir, "token.crt");
  if (!existsSync(keyPath)) {
    const pair = await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]);
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", pair.privateKey));
    writeFileAtomic(keyPath, pem("PRIVATE KEY", pkcs8), 0o600);
  }
  const key = createPrivateKey(readFileSync(keyPath));
  if (!existsSync(certPath)) writeFileAtomic(certPath, await selfSignedCert(key), 0o644);
  const spki = createPublicKey(key).export({ type: "spki", format: "der" });
  return { key, kid: libtrustKeyId(spki), certPath };
}

/** A self-signed certificate for `key`, valid for ten years from now. */
async function selfSignedCert(key: KeyObject): Promise<string> {
  // Loaded only here, the first time: a server that has its certificate never carries them.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const privateKey = await webcrypto.subtle.importKey(
    "pkcs8",
    key.export({ type: "pkcs8", format: "der" }),
    EC,
    true,
    ["sign"],
  );
  const publicKey = await webcrypto.subtle.importKey(
    "spki",
    createPublicKey(key).export({ type: "spki", format: "der" }),
    EC,
    true,
    ["verify"],
  );
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + YEARS * 365 * 86_400_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex"),
    name: "CN=Gantry registry token signer",
    notBefore,
    notAfter,
    keys: { privateKey, publicKey },
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  return cert.toString("pem") + "\n";
}

function pem(label: string, der: Buffer): string {
  const body = der
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
