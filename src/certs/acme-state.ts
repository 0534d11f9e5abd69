/**
 * What ACME keeps in the store besides the certificates themselves (which are `certs/<app>`
 * records with source "acme"): the account, the HTTP-01 key authorizations the router serves,
 * each app's issuance state (its last error and when to try again) and the apps opted out.
 */
import * as z from "zod";
import type { SecretBox } from "../apps/secrets.js";

export const ACME_KEYS = {
  /** The ACME account: directory, URL, key sealed. */
  account: "acme/account",
  /** Key authorizations by token: `acme/http01/<token>` (RFC 8555 §8.3). */
  http01: "acme/http01/",
  /** Issuance state per app: `acme/status/<app>` (last error, failures, next attempt). */
  status: "acme/status/",
  /** Apps that get no certificate by ACME: `acme/off/<app>` (`gantry certs:auto APP --off`). */
  off: "acme/off/",
} as const;

export const AcmeAccountSchema = z.strictObject({
  directory: z.string(),
  email: z.string().optional(),
  /** The account key (PEM), sealed with the data dir's key. */
  keySealed: z.string(),
  url: z.string().optional(),
});
export type AcmeAccount = z.infer<typeof AcmeAccountSchema>;

const ACCOUNT_CONTEXT = "acme account/key";

/** The account key sealed for the store. */
export const sealAccountKey = (box: SecretBox, keyPem: string): string =>
  box.encrypt(keyPem, ACCOUNT_CONTEXT);

/** The account key opened. */
export const openAccountKey = (box: SecretBox, sealed: string): string =>
  box.decrypt(sealed, ACCOUNT_CONTEXT);

/**
 * An app's issuance state. A record only exists while something failed: it is what
 * `gantry certs` shows for an app that never got a certificate, and the backoff of retries.
 */
export const AcmeStatusSchema = z.strictObject({
  app: z.string(),
  domains: z.array(z.string()),
  lastError: z.string(),
  failedAt: z.string(),
  failures: z.number().int().min(1),
  /** Not before this (ISO time). */
  nextAttempt: z.string(),
});
export type AcmeStatus = z.infer<typeof AcmeStatusSchema>;

/** A stored key authorization: what the router answers for the token. */
export const Http01Schema = z.strictObject({
  keyAuthorization: z.string(),
  app: z.string(),
  createdAt: z.string(),
});
