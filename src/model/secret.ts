import { createHash, randomBytes } from "node:crypto";

/** The SHA-256 of a token secret: what the Store keeps instead of the secret. */
export const hashSecret = (secret: string): string =>
  createHash("sha256").update(secret).digest("hex");

/** A fresh token secret: `gty_` and 32 random bytes, base64url. */
export const newSecret = (): string => `gty_${randomBytes(32).toString("base64url")}`;
