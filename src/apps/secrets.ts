import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import {
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { GantryError } from "../errors.js";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Config values that cannot be decrypted: tampered with, or sealed with another data dir's key. */
export class SecretError extends GantryError {
  constructor(message: string) {
    super("secret_unreadable", message, { status: 500 });
  }
}

/** Where the key lives: `DATA_DIR/secret.key`, base64 of 32 random bytes, mode 0600. */
export const secretKeyPath = (dataDir: string): string => join(dataDir, "secret.key");

/**
 * The data directory's config key, created on first use. Creation is a hard link of a fully
 * written temp file, so two processes starting at once agree on one key and neither ever reads a
 * half-written file.
 */
export function loadOrCreateKey(dataDir: string): Buffer {
  const path = secretKeyPath(dataDir);
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    writeFileSync(tmp, randomBytes(KEY_BYTES).toString("base64") + "\n", { mode: 0o600 });
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
    } finally {
      unlinkSync(tmp);
    }
  }
  const key = Buffer.from(readFileSync(path, "utf8").trim(), "base64");
  if (key.length !== KEY_BYTES)
    throw new SecretError(`${path} does not hold a ${KEY_BYTES}-byte key (base64)`);
  if ((statSync(path).mode & 0o077) !== 0)
    throw new SecretError(`${path} must be readable by its owner only (chmod 600 ${path})`);
  return key;
}

/**
 * AES-256-GCM for config values. Each value is bound to its app and name (additional
 * authenticated data), so a value copied onto another variable or app does not decrypt.
 * Sealed form: base64(iv | ciphertext | tag).
 */
export class SecretBox {
  private key: Buffer | undefined;

  /** `key` directly (tests), or a data directory (or a function naming it) whose key is loaded on first use. */
  constructor(private readonly source: { dataDir: string | (() => string) } | { key: Buffer }) {
    if ("key" in source) this.key = source.key;
  }

  private getKey(): Buffer {
    if (this.key === undefined) {
      const dir = (this.source as { dataDir: string | (() => string) }).dataDir;
      this.key = loadOrCreateKey(typeof dir === "string" ? dir : dir());
    }
    return this.key;
  }

  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.getKey(), iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64");
  }

  decrypt(sealed: string, context: string): string {
    const raw = Buffer.from(sealed, "base64");
    if (raw.length < IV_BYTES + TAG_BYTES)
      throw new SecretError(`the encrypted value of ${context} is damaged`);
    const decipher = createDecipheriv("aes-256-gcm", this.getKey(), raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      const body = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretError(
        `cannot decrypt ${context}: it was changed, or sealed with another data directory's secret.key`,
      );
    }
  }

  /** Encrypt a whole config map of one app (`scope` test: its TEST config, `config-test/<app>`). */
  seal(app: string, values: Record<string, string>, scope?: ConfigScope): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(values))
      out[name] = this.encrypt(value, configContext(app, name, scope));
    return out;
  }

  /** Decrypt a config map of one app (as stored in `config/<app>`, a release or `config-test/<app>`). */
  open(app: string, sealed: Record<string, string>, scope?: ConfigScope): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(sealed))
      out[name] = this.decrypt(value, configContext(app, name, scope));
    return out;
  }
}

/** Which config a value belongs to: the app's (releases) or its TEST config (issue 15). */
export type ConfigScope = "release" | "test";

/**
 * What a config value is bound to. TEST values have their own context, so a value copied between
 * `config/<app>` and `config-test/<app>` does not decrypt.
 */
export const configContext = (app: string, name: string, scope?: ConfigScope): string =>
  scope === "test" ? `config-test ${app}/${name}` : `config ${app}/${name}`;
