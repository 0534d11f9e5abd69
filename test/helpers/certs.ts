/** Self-signed certificates made on the spot for tests of the router's HTTPS. */
import { webcrypto } from "node:crypto";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface TestCert {
  certPem: string;
  keyPem: string;
}

/** A self-signed P-256 certificate for `dnsNames`, valid from `from` for `days`. */
export async function selfSigned(
  dnsNames: string[],
  opts: { days?: number; from?: Date } = {},
): Promise<TestCert> {
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const notBefore = opts.from ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (opts.days ?? 30) * 86_400_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex"),
    name: `CN=${dnsNames[0] ?? "test"}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.SubjectAlternativeNameExtension(dnsNames.map((d) => ({ type: "dns", value: d }))),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { certPem: cert.toString("pem") + "\n", keyPem: pem("PRIVATE KEY", pkcs8) };
}

function pem(label: string, der: Buffer): string {
  const body = der
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
