/**
 * Where ssh's control sockets live: one persistent dir per user, so the master connection a run
 * opens (ControlPersist=60) serves the next run too, as Ansible's ~/.ansible/cp does. It sits in
 * the temp dir because a socket path may not exceed ~104 bytes; a dir that another user could
 * have planted there is never used (a private fresh one is made instead).
 */
import { lstatSync, mkdirSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The control socket dir for this user (created 0700 when missing). */
export async function sshControlDir(): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `gantry-ssh-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") return mkdtemp(`${dir}-`);
  }
  const st = lstatSync(dir);
  if (st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0) return dir;
  return mkdtemp(`${dir}-`);
}
