import { createHash, randomBytes, webcrypto, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/write-atomic.js";
import { loadX509, pem } from "./x509.js";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;
const CA_DAYS = 3650;

/** The cluster CA: its certificate and key (PEM) and the sha256 of the certificate's DER, hex. */
export interface ClusterCa {
  certPem: string;
  keyPem: string;
  hash: string;
  /** Where the certificate is (DATA_DIR/ca.crt): what `GANTRY_CA` and git's sslCAInfo point at. */
  certPath: string;
}

/** What a certificate is issued for. */
export interface CertificateRequest {
  dnsNames: string[];
  ips: string[];
  days: number;
}

/** The sha256 (hex) of a PEM certificate's DER: what a join token pins. */
export function caHash(certPem: string): string {
  return createHash("sha256").update(new X509Certificate(certPem).raw).digest("hex");
}

/** The files of the cluster CA in a data directory. */
export function caFiles(dataDir: string): { cert: string; key: string } {
  return { cert: join(dataDir, "ca.crt"), key: join(dataDir, "ca.key") };
}

/**
 * The cluster CA in `dataDir` (`ca.crt`, `ca.key` mode 0600): an ECDSA P-256 CA valid ten
 * years, made on first call and reused after. The key is written before the certificate, so a
 * crash in between leaves no certificate without its key.
 */
export async function ensureClusterCa(dataDir: string): Promise<ClusterCa> {
  const files = caFiles(dataDir);
  if (!existsSync(files.cert) || !existsSync(files.key)) {
    // Two callers in one process (the API, the router's certificates) make one CA, not two.
    let made = making.get(files.key);
    if (made === undefined) {
      made = makeCa(files).finally(() => making.delete(files.key));
      making.set(files.key, made);
    }
    await made;
  }
  const certPem = readFileSync(files.cert, "utf8");
  const keyPem = readFileSync(files.key, "utf8");
  return { certPem, keyPem, hash: caHash(certPem), certPath: files.cert };
}

const making = new Map<string, Promise<void>>();

/** Make a new CA's key and certificate (key first). */
async function makeCa(files: { cert: string; key: string }): Promise<void> {
  const x509 = await loadX509();
  const keys = await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Gantry cluster CA ${randomBytes(3).toString("hex")}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_DAYS * DAY_MS),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  writeFileAtomic(files.key, pem("PRIVATE KEY", pkcs8), 0o600);
  writeFileAtomic(files.cert, cert.toString("pem") + "\n", 0o644);
}

/** A leaf certificate (server and client auth) signed by `ca` for the given names, with a new P-256 key. */
export async function issueCertificate(
  ca: Pick<ClusterCa, "certPem" | "keyPem">,
  req: CertificateRequest,
): Promise<{ certPem: string; keyPem: string }> {
  if (req.dnsNames.length + req.ips.length === 0)
    throw new Error("a certificate needs at least one DNS name or IP address");
  const x509 = await loadX509();
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(ca.keyPem),
    EC,
    false,
    ["sign"],
  );
  const keys = await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${req.dnsNames[0] ?? req.ips[0]}`,
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + req.days * DAY_MS),
    signingAlgorithm: EC,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([
        ...req.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...req.ips.map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { certPem: cert.toString("pem") + "\n", keyPem: pem("PRIVATE KEY", pkcs8) };
}

/** A positive random serial number (the high bit clear: DER integers are signed). */
function serial(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  return b.toString("hex");
}
