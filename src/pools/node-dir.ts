import { mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { conflict } from "../errors.js";
import { writeFileAtomic } from "../fsutil/write-atomic.js";

/**
 * Make ROOT/NAME complete with `files` (each 0600) in one rename: a name is taken or not, and a
 * half-written directory never blocks a name. A ConflictError when NAME is taken. Its path.
 */
export function claimNodeDir(
  root: string,
  name: string,
  rootMode: number,
  files: Record<string, string>,
): string {
  mkdirSync(root, { recursive: true, mode: rootMode });
  const tmp = mkdtempSync(join(root, ".new-"));
  const dir = join(root, name);
  try {
    for (const [file, content] of Object.entries(files))
      writeFileAtomic(join(tmp, file), content, 0o600);
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") throw conflict(`node ${name} already exists`);
    throw err;
  }
  return dir;
}
