import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/write-atomic.js";
import { issueCertificate, type ClusterCa } from "./ca.js";

const DAYS = 365;
/** A certificate with less than this left is issued again at start. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

/** The names a server certificate is for. */
export interface CertNames {
  dnsNames: string[];
  ips: string[];
}

/**
 * The names the API's certificate covers: localhost, 127.0.0.1, ::1, the listen host (unless it
 * is a wildcard address) and the machine's host name, plus any extra ones.
 */
export function apiCertNames(
  listenHost: string,
  host = hostname(),
  extra: string[] = [],
): CertNames {
  const dns = new Set(["localhost"]);
  const ips = new Set(["127.0.0.1", normalIp("::1")]);
  for (const name of [listenHost, host, ...extra]) {
    const n = name.replace(/^\[|\]$/g, "").toLowerCase();
    if (n === "" || n === "0.0.0.0" || n === "::") continue;
    if (isIP(n) === 0) dns.add(n);
    else ips.add(normalIp(n));
  }
  return { dnsNames: [...dns].sort(), ips: [...ips].sort() };
}

/** The names in a certificate's subjectAltName (node's "DNS:a, IP Address:b" text). */
export function certNames(cert: X509Certificate): CertNames {
  const dnsNames: string[] = [];
  const ips: string[] = [];
  for (const part of (cert.subjectAltName ?? "").split(/,\s*/)) {
    if (part.startsWith("DNS:")) dnsNames.push(part.slice(4).toLowerCase());
    else if (part.startsWith("IP Address:")) ips.push(normalIp(part.slice(11)));
  }
  return { dnsNames: dnsNames.sort(), ips: ips.sort() };
}

/** Whether a certificate must be issued again: other names, or under 30 days left. */
export function needsReissue(
  have: CertNames & { validTo: Date },
  want: CertNames,
  now = new Date(),
): boolean {
  if (have.validTo.getTime() - now.getTime() < RENEW_BEFORE_MS) return true;
  const same = (a: string[], b: string[]): boolean =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  return !same(have.dnsNames, want.dnsNames) || !same(have.ips, want.ips.map(normalIp).sort());
}

/**
 * The API's server certificate (`api.crt`, `api.key` 0600 in `dataDir`), issued by the cluster
 * CA for `names`; reused while it covers the same names and has over 30 days left.
 */
export async function ensureServerCertificate(
  dataDir: string,
  ca: ClusterCa,
  names: CertNames,
): Promise<{ certPem: string; keyPem: string }> {
  const certPath = join(dataDir, "api.crt");
  const keyPath = join(dataDir, "api.key");
  if (existsSync(certPath) && existsSync(keyPath)) {
    const certPem = readFileSync(certPath, "utf8");
    const cert = new X509Certificate(certPem);
    const fromOurCa = cert.checkIssued(new X509Certificate(ca.certPem));
    if (fromOurCa && !needsReissue({ ...certNames(cert), validTo: new Date(cert.validTo) }, names))
      return { certPem, keyPem: readFileSync(keyPath, "utf8") };
  }
  const issued = await issueCertificate(ca, { ...names, days: DAYS });
  writeFileAtomic(keyPath, issued.keyPem, 0o600);
  writeFileAtomic(certPath, issued.certPem, 0o644);
  return issued;
}

/** An IP as node prints it in subjectAltName (IPv6 as eight lower-case hex groups). */
export function normalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head, tail] = ip.toLowerCase().split("::") as [string, string | undefined];
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.map((g) => g.replace(/^0+(?=.)/, "")).join(":");
}
