import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { StoreLockedError } from "../errors.js";

/** Directories this process has open: a second open fails before touching the database. */
const openHere = new Set<string>();

const PID_FILE = "store.pid";

/** An open, exclusively locked database and the way to let go of it. */
export interface LockedDb {
  db: Database.Database;
  /** Close the database and release the lock. */
  release(): void;
}

function holder(dir: string): string {
  try {
    const pid = fs.readFileSync(path.join(dir, PID_FILE), "utf8").trim();
    return pid === "" ? "unknown process" : `pid ${pid}`;
  } catch {
    return "unknown process";
  }
}

/**
 * Open DIR/store.db holding an exclusive lock for as long as it stays open.
 *
 * The lock is SQLite's own: with locking_mode=EXCLUSIVE in WAL mode the first read takes an
 * EXCLUSIVE lock on the database file and keeps it until close. It is an fcntl lock, so the
 * kernel drops it when the process dies (kill -9 included): there is no stale lock to detect,
 * and no PID that may have been reused. Any other connection — another process, or this one —
 * gets SQLITE_BUSY on its first statement, which becomes StoreLockedError; nothing is written
 * before the lock is held. store.pid only names the holder in that error message. (fcntl locks
 * are unreliable on some network filesystems; keep the data directory on a local disk.)
 */
export function openLocked(dir: string): LockedDb {
  fs.mkdirSync(dir, { recursive: true });
  const real = fs.realpathSync(dir);
  if (openHere.has(real)) throw new StoreLockedError(dir, `this process, pid ${process.pid}`);
  const db = new Database(path.join(real, "store.db"), { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = WAL");
    db.prepare("SELECT COUNT(*) FROM sqlite_master").get();
  } catch (err) {
    db.close();
    const code = (err as { code?: unknown }).code;
    if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED")
      throw new StoreLockedError(dir, holder(real));
    throw err;
  }
  openHere.add(real);
  const pidFile = path.join(real, PID_FILE);
  fs.writeFileSync(pidFile, `${process.pid}\n`);
  return {
    db,
    release() {
      try {
        if (fs.readFileSync(pidFile, "utf8").trim() === String(process.pid)) fs.rmSync(pidFile);
      } catch {
        // Already gone: nothing to tidy.
      }
      db.close();
      openHere.delete(real);
    },
  };
}
