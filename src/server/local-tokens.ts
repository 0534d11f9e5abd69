import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { TokenRegistry } from "../api/tokens.js";
import { hashSecret, newSecret } from "../api/tokens.js";
import type { Policy } from "../model/token.js";
import { writeFileAtomic } from "../fsutil/write-atomic.js";

/**
 * A token for a component of `gantry up` (the local agent, the router), kept in the data
 * directory as `file`: reused while it is valid with exactly `policies`; otherwise a new one is
 * created (the old one, if it had other policies, is revoked).
 */
export async function ensureLocalToken(
  tokens: TokenRegistry,
  dataDir: string,
  file: string,
  name: string,
  policies: Policy[],
): Promise<string> {
  const path = join(dataDir, file);
  const saved = existsSync(path) ? readFileSync(path, "utf8").trim() : "";
  const want = JSON.stringify(policies);
  if (saved !== "") {
    const rec = tokens.authenticate(saved);
    if (rec !== undefined && JSON.stringify(rec.policies) === want) return saved;
    if (rec !== undefined) await tokens.revoke(rec.id);
  }
  const secret = newSecret();
  const base = name.slice(0, 55);
  const unique =
    tokens.find(base) === undefined ? base : `${base}-${hashSecret(secret).slice(0, 8)}`;
  await tokens.create(unique, policies, "gantry up", secret);
  writeFileAtomic(path, secret + "\n");
  return secret;
}
