import type Database from "better-sqlite3";

/**
 * The on-disk layout, in the style of kine: `log` is a write-ahead log of every write of every
 * key, one row per (revision, sub-revision) — etcd's (main, sub) revision pair, so the events of
 * a transaction keep their order when a watch replays them. `current` holds the latest state of
 * each live key so reads at the current revision are a single B-tree lookup; past revisions are
 * read from `log`. Keys are BLOBs so SQLite orders them by bytes, as etcd does.
 */
const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS log (
  rev INTEGER NOT NULL,
  sub INTEGER NOT NULL,
  key BLOB NOT NULL,
  deleted INTEGER NOT NULL,
  create_rev INTEGER NOT NULL,
  prev_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  lease INTEGER NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (rev, sub)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE TABLE IF NOT EXISTS current (
  key BLOB PRIMARY KEY,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  lease INTEGER NOT NULL,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS current_lease ON current (lease) WHERE lease != 0;
CREATE TABLE IF NOT EXISTS leases (
  id INTEGER PRIMARY KEY,
  ttl INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Durability modes: "fsync" survives power loss, "process" survives only a process crash. */
export type Durability = "fsync" | "process";

/**
 * Connection settings. lock.ts has already put the database in WAL mode with an exclusive lock,
 * which also lets WAL keep its index in heap memory instead of a shared -shm file.
 */
export function configure(db: Database.Database, durability: Durability): void {
  // In WAL mode FULL syncs the log on every commit (survives power loss); NORMAL syncs only at
  // checkpoints, which still survives kill -9 because the OS keeps written pages.
  db.pragma(`synchronous = ${durability === "fsync" ? "FULL" : "NORMAL"}`);
  db.pragma("temp_store = MEMORY");
  db.pragma("cache_size = -65536");
  db.pragma("foreign_keys = OFF");
}

/** Create the tables on a fresh database; refuse a database written by a newer Gantry. */
export function migrate(db: Database.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `store.db has schema version ${version}; this Gantry understands up to ${SCHEMA_VERSION}`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    db.exec(DDL);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
