import { ValidationError } from "../../errors.js";
import type { Store } from "../types.js";
import { openLocked } from "./lock.js";
import { configure, migrate, type Durability } from "./schema.js";
import { prepareStatements } from "./statements.js";
import { SqliteStore } from "./store.js";

export type { Durability } from "./schema.js";
export { MAX_WATCH_BACKLOG } from "./watch-hub.js";

export interface SqliteStoreOptions {
  /** Data directory; created if missing. The database is DIR/store.db. */
  dir: string;
  /** "fsync" (default): an acknowledged write survives power loss. "process": survives kill -9. */
  durability?: Durability;
}

/** Open (or create) the embedded store in `dir`; StoreLockedError when another store holds it. */
export async function openSqliteStore(opts: SqliteStoreOptions): Promise<Store> {
  if (
    opts === null ||
    typeof opts !== "object" ||
    typeof opts.dir !== "string" ||
    opts.dir === ""
  ) {
    throw new ValidationError("dir must be a non-empty path", "dir");
  }
  const durability = opts.durability ?? "fsync";
  if (durability !== "fsync" && durability !== "process") {
    throw new ValidationError('durability must be "fsync" or "process"', "durability");
  }
  const lock = openLocked(opts.dir);
  try {
    configure(lock.db, durability);
    migrate(lock.db);
    return new SqliteStore(lock, prepareStatements(lock.db));
  } catch (err) {
    lock.release();
    throw err;
  }
}
