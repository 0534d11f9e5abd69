import { randomBytes } from "node:crypto";
import { open, rename, rm, symlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { renameDurably } from "../../../fsutil/rename-durably.js";

/** What a written file should end up with; every field explicit so the umask plays no part. */
export interface FileAttrs {
  mode: number;
  uid: number;
  gid: number;
}

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.gantry-${randomBytes(6).toString("hex")}.tmp`);
}

/**
 * Replace `path` with `bytes`: a temp file in the same directory gets the content, owner and
 * mode, is fsynced, then renamed over `path` (and the directory fsynced), so a reader sees the
 * old file or the new one, never half of it, and a crash leaves one of the two.
 */
export async function writeAtomic(
  path: string,
  bytes: Uint8Array,
  attrs: FileAttrs,
): Promise<void> {
  const tmp = tempPath(path);
  try {
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.chown(attrs.uid, attrs.gid); // before chmod: chown clears setuid/setgid
      await fh.chmod(attrs.mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await renameDurably(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Point `path` at `target`: a temp link renamed over whatever link or file is there. */
export async function symlinkAtomic(target: string, path: string): Promise<void> {
  const tmp = tempPath(path);
  try {
    await symlink(target, tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
