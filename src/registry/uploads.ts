import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** An upload touched within this is a push in flight; older ones were abandoned. */
export const UPLOAD_IDLE_MS = 10 * 60 * 1000;

/**
 * Whether some push (by anyone) is uploading into the registry's storage: an `_uploads/<id>`
 * folder under a repository with a file written within UPLOAD_IDLE_MS. Abandoned uploads (older)
 * do not count: the registry purges them itself.
 */
export function uploadsInFlight(rootDirectory: string, now = Date.now()): boolean {
  const repos = join(rootDirectory, "docker/registry/v2/repositories");
  const walk = (dir: string, depth: number): boolean => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const path = join(dir, e.name);
      if (e.name === "_uploads") {
        if (recentlyWritten(path, now, 3)) return true;
      } else if (!e.name.startsWith("_") && depth < 8 && walk(path, depth + 1)) return true;
    }
    return false;
  };
  return walk(repos, 0);
}

function recentlyWritten(dir: string, now: number, depth: number): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  // Files only: a folder's time changes when anything is removed from it too.
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (depth > 0 && recentlyWritten(path, now, depth - 1)) return true;
      continue;
    }
    try {
      if (now - statSync(path).mtimeMs < UPLOAD_IDLE_MS) return true;
    } catch {
      // removed meanwhile
    }
  }
  return false;
}
