import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { ValidationError } from "../errors.js";

/** What `gantry certs` shows of a certificate that passed the checks. */
export interface CertInfo {
  /** DNS names from the subject alternative names (lower case). */
  domains: string[];
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** sha256 of the leaf, as OpenSSL prints it. */
  fingerprint: string;
}

export interface CertInput {
  certPem: string;
  keyPem: string;
  /** Where each came from, for the error messages (the file names given to certs:add). */
  certFile: string;
  keyFile: string;
}

/**
 * Check a certificate and its key before they are stored: both parse, the key is the
 * certificate's, it is valid now, and it covers every name in `domains`. Each failure is one
 * line naming the file and what to do.
 */
export function checkCertificate(input: CertInput, domains: string[], now = new Date()): CertInfo {
  const chain = splitPem(input.certPem);
  if (chain.length === 0)
    throw new ValidationError(
      `${input.certFile}: no certificate found (expected a PEM "BEGIN CERTIFICATE" block)`,
      "cert",
    );
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chain[0]!);
    for (const c of chain.slice(1)) new X509Certificate(c);
  } catch (err) {
    throw new ValidationError(
      `${input.certFile}: not a readable certificate (${why(err)})`,
      "cert",
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(input.keyPem);
  } catch (err) {
    throw new ValidationError(`${input.keyFile}: not a readable private key (${why(err)})`, "key");
  }
  if (!leaf.checkPrivateKey(key))
    throw new ValidationError(
      `${input.keyFile} is not the key of ${input.certFile}: the certificate was made for another key`,
      "key",
    );
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= now.getTime())
    throw new ValidationError(
      `${input.certFile} expired on ${notAfter.toISOString()}; get a new certificate`,
      "cert",
    );
  if (notBefore.getTime() > now.getTime())
    throw new ValidationError(
      `${input.certFile} is not valid before ${notBefore.toISOString()}`,
      "cert",
    );
  const missing = domains.filter((d) => leaf.checkHost(d, { wildcards: true }) === undefined);
  if (missing.length > 0)
    throw new ValidationError(
      `${input.certFile} does not cover ${missing.join(", ")} (it is for ${dnsNames(leaf).join(", ") || "no DNS name"})`,
      "cert",
    );
  return {
    domains: dnsNames(leaf),
    issuer: leaf.issuer.replace(/\n/g, ", "),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    fingerprint: leaf.fingerprint256,
  };
}

/** The PEM certificate blocks of a file, in order (leaf first). */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? "")
    .split(", ")
    .filter((s) => s.startsWith("DNS:"))
    .map((s) => s.slice(4).toLowerCase());
}

function why(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
