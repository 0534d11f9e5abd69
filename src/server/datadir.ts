import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/write-atomic.js";
import { newSecret } from "../model/secret.js";

/** `~/.gantry`, or $GANTRY_DATA_DIR. */
export function defaultDataDir(): string {
  return process.env["GANTRY_DATA_DIR"] ?? join(homedir(), ".gantry");
}

/** The files of a data directory. */
export const dataFiles = (dir: string) => ({
  store: join(dir, "store"),
  adminToken: join(dir, "admin.token"),
  apiAddr: join(dir, "api.addr"),
  /** The cluster CA's certificate, when the API serves HTTPS (src/tls/ca.ts). */
  ca: join(dir, "ca.crt"),
});

/** Create the data directory (0700) if needed. */
export function ensureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** The admin token's secret, created (mode 0600) on the first run and reused afterwards. */
export function loadOrCreateAdminSecret(dir: string): { secret: string; created: boolean } {
  const file = dataFiles(dir).adminToken;
  if (existsSync(file)) {
    const secret = readFileSync(file, "utf8").trim();
    if (secret !== "") return { secret, created: false };
  }
  const secret = newSecret();
  writeFileAtomic(file, secret + "\n");
  return { secret, created: true };
}
