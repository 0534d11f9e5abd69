import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { GantryError } from "../errors.js";

/** The destination could not be written. */
export class WriteError extends GantryError {
  constructor(dest: string, cause: unknown) {
    super("write_failed", `cannot write ${dest}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Replace `dest` with `content` atomically (a temp file in the same directory, fsynced, then
 * renamed over it), keeping its mode (and owner, as root) or 0644 for a new file. Does nothing
 * when the file already holds exactly `content`. Returns whether it wrote.
 */
export async function writeIfChanged(dest: string, content: string): Promise<boolean> {
  const bytes = Buffer.from(content);
  let existing: { mode: number; uid: number; gid: number } | undefined;
  try {
    const st = await stat(dest);
    existing = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if ((await readFile(dest)).equals(bytes)) return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new WriteError(dest, err);
  }
  const dir = dirname(dest);
  const tmp = join(dir, `.${basename(dest)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.chmod(existing?.mode ?? 0o644); // explicit: the umask must not change it
      if (existing !== undefined && process.getuid?.() === 0)
        await fh.chown(existing.uid, existing.gid);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new WriteError(dest, err);
  }
  return true;
}
