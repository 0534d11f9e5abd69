import { readFileSync } from "node:fs";
import { Option } from "commander";
import { X509Certificate } from "node:crypto";
import type { AcmeOptions } from "../acme/controller.js";
import { splitPem } from "../certs/validate.js";
import { ValidationError } from "../errors.js";
import { parseDuration } from "../model/duration.js";

/** The ACME flags of `gantry up` and `gantry server`, as commander gives them. */
export interface AcmeFlags {
  acmeDirectory?: string;
  acmeEmail?: string;
  acmeCa?: string;
  acmeRenewBefore?: string;
}

const FLAGS = {
  directory: [
    "--acme-directory <url>",
    "get certificates by ACME from this directory for every app with custom domains, agreeing to its CA's terms (Let's Encrypt: https://acme-v02.api.letsencrypt.org/directory)",
  ],
  email: ["--acme-email <addr>", "the ACME account's contact (expiry notices)"],
  ca: [
    "--acme-ca <file>",
    "also trust these PEM CA certificates for the directory's HTTPS (a private or test CA)",
  ],
  renewBefore: [
    "--acme-renew-before <duration>",
    "renew when less than this is left, like 30d or 12h (default 30d)",
  ],
} as const;

/** One of the ACME flags, for `up` and `server` alike (a new Option for each command). */
export const acmeOption = (name: keyof typeof FLAGS): Option =>
  new Option(FLAGS[name][0], FLAGS[name][1]);

const DAY_MS = 86_400_000;
const EMAIL = /^[^\s@<>()[\],;:"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;

/** The ACME options, checked (one line naming the flag); undefined without --acme-directory. */
export function parseAcmeFlags(f: AcmeFlags): AcmeOptions | undefined {
  if (f.acmeDirectory === undefined) {
    const stray = (["acmeEmail", "acmeCa", "acmeRenewBefore"] as const).find(
      (k) => f[k] !== undefined,
    );
    if (stray === undefined) return undefined;
    const flag = "--" + stray.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
    throw new ValidationError(`${flag} needs --acme-directory URL`, flag);
  }
  let url: URL;
  try {
    url = new URL(f.acmeDirectory);
  } catch {
    url = new URL("invalid:");
  }
  if (url.protocol !== "https:")
    throw new ValidationError(
      `--acme-directory must be an https:// URL of an ACME directory (RFC 8555), like https://acme-v02.api.letsencrypt.org/directory, got "${f.acmeDirectory}"`,
      "--acme-directory",
    );
  if (f.acmeEmail !== undefined && !EMAIL.test(f.acmeEmail))
    throw new ValidationError(
      `--acme-email must be an e-mail address like ops@example.com, got "${f.acmeEmail}"`,
      "--acme-email",
    );
  return {
    url: url.href,
    ...(f.acmeEmail === undefined ? {} : { email: f.acmeEmail }),
    ...(f.acmeCa === undefined ? {} : { caPem: readCa(f.acmeCa) }),
    renewBeforeMs: parseRenewBefore(f.acmeRenewBefore ?? "30d"),
  };
}

/** --acme-renew-before: like 30d, 12h or 1d12h; more than 0, at most 365d. */
export function parseRenewBefore(raw: string): number {
  const m = /^(\d{1,3})d(.*)$/.exec(raw);
  const rest = m === null ? raw : m[2]!;
  const part = rest === "" ? 0 : parseDuration(rest);
  const ms = part === undefined ? NaN : (m === null ? 0 : Number(m[1]) * DAY_MS) + part;
  if (!(ms > 0 && ms <= 365 * DAY_MS))
    throw new ValidationError(
      `--acme-renew-before must be a duration from 1s to 365d, like 30d or 12h, got "${raw}"`,
      "--acme-renew-before",
    );
  return ms;
}

/** --acme-ca FILE: PEM certificates the directory's HTTPS may chain to. */
function readCa(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    throw new ValidationError(`--acme-ca: cannot read ${path} (${code})`, "--acme-ca");
  }
  const blocks = splitPem(text);
  if (blocks.length === 0)
    throw new ValidationError(
      `--acme-ca: ${path} holds no PEM certificate ("BEGIN CERTIFICATE")`,
      "--acme-ca",
    );
  blocks.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch {
      throw new ValidationError(
        `--acme-ca: certificate ${i + 1} in ${path} does not parse`,
        "--acme-ca",
      );
    }
  });
  return blocks.join("\n") + "\n";
}
