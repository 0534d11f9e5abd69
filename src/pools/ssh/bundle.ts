/**
 * The one file an `ssh` pool's hosts get: dist/gantry-agent.mjs (scripts/bundle-agent.mjs, part
 * of `npm run build`), cached on a host under its content hash so a new Gantry uploads it once.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GantryError } from "../../errors.js";

export interface AgentBundle {
  content: Buffer;
  /** The first 12 hex digits of the content's sha256. */
  hash: string;
}

/** dist/gantry-agent.mjs, whether this code runs from dist/ or from src/. */
export function defaultAgentBundlePath(): string {
  const top = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const dist = basename(top) === "src" ? join(top, "..", "dist") : top;
  return join(dist, "gantry-agent.mjs");
}

/** Read the bundle and hash it; a clear error when it was never built. */
export async function loadAgentBundle(path = defaultAgentBundlePath()): Promise<AgentBundle> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch {
    throw new GantryError(
      "agent_bundle_missing",
      `the one-file agent ${path} is missing: build it with \`npm run build\``,
    );
  }
  return { content, hash: createHash("sha256").update(content).digest("hex").slice(0, 12) };
}
