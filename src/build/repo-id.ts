import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { appRepoPath } from "./repo.js";

const run = promisify(execFile);
const ID_FILE = "gantry-id";
const ID = /^[0-9a-f]{16}$/;

/**
 * The id of an app's repository on this server, made on first use (undefined when there is no
 * repository). Pushes record it, so that only the server holding the repository that received
 * a push judges whether git took it (docs/apps.md, "An interrupted push").
 */
export function ensureRepoId(dataDir: string, app: string): string | undefined {
  const existing = repoId(dataDir, app);
  if (existing !== undefined) return existing;
  try {
    // wx: of two first pushes racing, one writes and both read what it wrote.
    writeFileSync(join(appRepoPath(dataDir, app), ID_FILE), randomBytes(8).toString("hex") + "\n", {
      flag: "wx",
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code !== "EEXIST") throw err;
  }
  return repoId(dataDir, app);
}

/** The id of an app's repository on this server, if it has one. */
export function repoId(dataDir: string, app: string): string | undefined {
  try {
    const id = readFileSync(join(appRepoPath(dataDir, app), ID_FILE), "utf8").trim();
    return ID.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Where a branch of an app's repository points ("" when the branch does not exist). */
export async function readRef(dataDir: string, app: string, ref: string): Promise<string> {
  try {
    const { stdout } = await run("git", [
      "--git-dir",
      appRepoPath(dataDir, app),
      "rev-parse",
      "--verify",
      "-q",
      `${ref}^{commit}`,
    ]);
    return stdout.trim();
  } catch (err) {
    // `rev-parse --verify -q` exits 1, silently, for a ref that does not exist; anything else
    // (no repository, git missing) is not an answer, and must not be taken for one.
    if ((err as { code?: unknown }).code === 1) return "";
    throw err;
  }
}
