/**
 * The runner that goes to every host: dist/converge-runner.mjs, one file that esbuild bundles
 * from src/converge/runner-main.ts (scripts/bundle-runner.mjs, part of `npm run build`).
 * Hosts cache it under its content hash, so a new Gantry uploads a new runner exactly once.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GantryError } from "../../errors.js";

export interface RunnerBundle {
  path: string;
  content: Buffer;
  /** The first 12 hex digits of the content's sha256. */
  hash: string;
}

/** Where the bundle is: dist/converge-runner.mjs, whether this code runs from dist/ or src/. */
export function defaultBundlePath(): string {
  const fromEnv = process.env["GANTRY_RUNNER_BUNDLE"];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const top = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const dist = basename(top) === "src" ? join(top, "..", "dist") : top;
  return join(dist, "converge-runner.mjs");
}

/** Read the bundle and hash it; a clear error when it was never built. */
export async function loadRunnerBundle(path = defaultBundlePath()): Promise<RunnerBundle> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch {
    throw new GantryError(
      "runner_missing",
      `the converge runner ${path} is missing: build it with \`npm run build\``,
    );
  }
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 12);
  return { path, content, hash };
}
