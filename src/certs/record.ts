import * as z from "zod";
import type { SecretBox } from "../apps/secrets.js";
import type { RouterCert } from "../router/https.js";
import type { CertInfo } from "./validate.js";

/** Where an app's certificate lives in the store: `certs/<app>`. */
export const CERTS_PREFIX = "certs/";

/** The stored form: the certificate in the clear, its key sealed with the data dir's key. */
export const CertRecordSchema = z.strictObject({
  app: z.string(),
  source: z.enum(["manual", "acme"]),
  certPem: z.string(),
  /** base64(iv | ciphertext | tag), bound to the app (see keyContext). */
  keySealed: z.string(),
  domains: z.array(z.string()),
  issuer: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  fingerprint: z.string(),
  addedAt: z.string(),
  /** The last failure to obtain or renew it (ACME), shown by `gantry certs`. */
  lastError: z.string().optional(),
});
export type CertRecord = z.infer<typeof CertRecordSchema>;

/** What an app's certificate key is bound to: a sealed key copied onto another app does not open. */
export const keyContext = (app: string): string => `cert ${app}/key`;

/** The record to store for a checked certificate: the key sealed, nothing else secret. */
export function sealCert(
  box: SecretBox,
  app: string,
  pems: { certPem: string; keyPem: string },
  info: CertInfo,
  source: CertRecord["source"],
  now = new Date(),
): CertRecord {
  return {
    app,
    source,
    certPem: pems.certPem,
    keySealed: box.encrypt(pems.keyPem, keyContext(app)),
    ...info,
    addedAt: now.toISOString(),
  };
}

/** What a router serves for a stored record (the key opened). */
export function openCert(box: SecretBox, rec: CertRecord): RouterCert {
  return {
    domains: rec.domains,
    certPem: rec.certPem,
    keyPem: box.decrypt(rec.keySealed, keyContext(rec.app)),
    label: rec.app,
  };
}
