import type Database from "better-sqlite3";
import type { ByteRange } from "../keys.js";

type Stmt = Database.Statement;

/** A row of `current` (or a `log` row shaped like one) as better-sqlite3 returns it. */
export interface CurrentRow {
  create_rev: number;
  mod_rev: number;
  version: number;
  lease: number;
  value: Buffer;
}

/** A `current` row with its key, for deletes. */
export interface KeyedCurrentRow extends CurrentRow {
  key: Buffer;
  keyStr: string;
}

/** A `log` row, for watch replay. */
export interface LogRow {
  rev: number;
  sub: number;
  key: Buffer;
  keyStr: string;
  deleted: number;
  create_rev: number;
  prev_rev: number;
  version: number;
  lease: number;
  value: Buffer;
}

/**
 * Named parameters for the range statements. One object is reused for every call (statements
 * run synchronously), which saves an allocation per read.
 */
export interface RangeParams {
  start: Buffer;
  end: Buffer;
  rev: number;
  sub: number;
  to: number;
  limit: number;
}

/** The statements that read a key range, prepared once per kind of range. */
export interface RangeStatements {
  /** Live keys now, as raw rows in KV_COLUMNS order (see rows.ts). */
  current: Stmt;
  currentKeys: Stmt;
  currentCount: Stmt;
  /** Live keys as of @rev, read from the log. */
  past: Stmt;
  pastKeys: Stmt;
  pastCount: Stmt;
  /** Log rows after (@rev, @sub) up to @to, in revision order: watch replay. */
  history: Stmt;
  /** Keys and metadata of live keys now, for deletes. */
  forDelete: Stmt;
  forDeleteWithValue: Stmt;
}

function rangeStatements(db: Database.Database, where: string): RangeStatements {
  // Keys come back as TEXT: a JS string straight from SQLite is much cheaper than a Buffer to
  // decode, and stored keys are always valid UTF-8 (they were encoded from JS strings).
  const kv = "CAST(key AS TEXT), value, create_rev, mod_rev, version, lease";
  const kvKeys = "CAST(key AS TEXT), NULL, create_rev, mod_rev, version, lease";
  // MAX(rev) per key picks each key's last write at or before @rev; tombstones drop out after
  // the join, so the subquery only touches the (key, rev) index.
  const latest = `SELECT key, MAX(rev) AS rev FROM log WHERE ${where} AND rev <= @rev GROUP BY key`;
  const pastJoin =
    `FROM (${latest}) m JOIN log l ON l.key = m.key AND l.rev = m.rev ` + "WHERE l.deleted = 0";
  const pastMeta = "l.create_rev, l.rev, l.version, l.lease";
  const current = `FROM current WHERE ${where} ORDER BY key LIMIT @limit`;
  return {
    current: db.prepare(`SELECT ${kv} ${current}`).raw(),
    currentKeys: db.prepare(`SELECT ${kvKeys} ${current}`).raw(),
    currentCount: db.prepare(`SELECT COUNT(*) FROM current WHERE ${where}`).pluck(),
    past: db
      .prepare(
        `SELECT CAST(l.key AS TEXT), l.value, ${pastMeta} ${pastJoin} ORDER BY l.key LIMIT @limit`,
      )
      .raw(),
    pastKeys: db
      .prepare(
        `SELECT CAST(l.key AS TEXT), NULL, ${pastMeta} ${pastJoin} ORDER BY l.key LIMIT @limit`,
      )
      .raw(),
    pastCount: db.prepare(`SELECT COUNT(*) ${pastJoin}`).pluck(),
    history: db.prepare(
      `SELECT rev, sub, key, CAST(key AS TEXT) AS keyStr, deleted, create_rev, prev_rev, version,
         lease, value
       FROM log WHERE (rev, sub) > (@rev, @sub) AND rev <= @to AND ${where}
       ORDER BY rev, sub LIMIT @limit`,
    ),
    forDelete: db.prepare(
      `SELECT key, CAST(key AS TEXT) AS keyStr, create_rev, mod_rev, version, lease
       FROM current WHERE ${where} ORDER BY key`,
    ),
    forDeleteWithValue: db.prepare(
      `SELECT key, CAST(key AS TEXT) AS keyStr, create_rev, mod_rev, version, lease, value
       FROM current WHERE ${where} ORDER BY key`,
    ),
  };
}

/** Every statement the store runs, prepared once when it opens. */
export function prepareStatements(db: Database.Database) {
  const ranges = {
    one: rangeStatements(db, "key = @start"),
    bounded: rangeStatements(db, "key >= @start AND key < @end"),
    open: rangeStatements(db, "key >= @start"),
  };
  return {
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),

    /** The range statements for a single key. */
    single: ranges.one,
    /** The range statements that fit a byte range. */
    range(r: ByteRange): RangeStatements {
      if (r.end === undefined) return ranges.one;
      return r.end.length === 0 ? ranges.open : ranges.bounded;
    },

    getCurrent: db.prepare("SELECT create_rev, mod_rev, version, lease FROM current WHERE key = ?"),
    getCurrentWithValue: db.prepare(
      "SELECT create_rev, mod_rev, version, lease, value FROM current WHERE key = ?",
    ),
    insertLog: db.prepare(
      `INSERT INTO log (rev, sub, key, deleted, create_rev, prev_rev, version, lease, value)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    putCurrent: db.prepare(
      `INSERT OR REPLACE INTO current (key, create_rev, mod_rev, version, lease, value)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    deleteCurrent: db.prepare("DELETE FROM current WHERE key = ?"),
    /** A live log row by key and revision, as a raw KV row: a replayed event's prevKv. */
    liveLogAt: db
      .prepare(
        `SELECT CAST(key AS TEXT), value, create_rev, rev, version, lease
         FROM log WHERE key = ? AND rev = ? AND deleted = 0`,
      )
      .raw(),
    maxRev: db.prepare("SELECT MAX(rev) FROM log").pluck(),

    getMeta: db.prepare("SELECT value FROM meta WHERE name = ?").pluck(),
    setMeta: db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)"),

    allLeases: db.prepare("SELECT id, ttl FROM leases"),
    leaseAttachments: db.prepare("SELECT key, lease FROM current WHERE lease != 0"),
    insertLease: db.prepare("INSERT INTO leases (id, ttl) VALUES (?, ?)"),
    deleteLease: db.prepare("DELETE FROM leases WHERE id = ?"),

    minRev: db.prepare("SELECT MIN(rev) FROM log").pluck(),
    /** The revision `@offset` rows past `?`: where a compaction chunk ends. */
    chunkEnd: db
      .prepare("SELECT rev FROM log WHERE rev >= ? ORDER BY rev LIMIT 1 OFFSET ?")
      .pluck(),
    // A row is no longer needed for reads at >= @c when a later write of the same key below @c
    // supersedes it, or when it is a tombstone below @c. Rows at @c itself are kept, so a watch
    // starting exactly at the compact revision still sees its events and their previous values.
    compactChunk: db.prepare(
      `DELETE FROM log WHERE rev >= @lo AND rev < @hi AND (deleted = 1 OR EXISTS (
         SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev < @c))`,
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
