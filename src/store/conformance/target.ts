import type { Store } from "../types.js";

/**
 * What a backend's test file hands the conformance suite. Tests use unique key prefixes and
 * relative revisions, so one server can serve every test; compaction tests assume tests run
 * one after another (vitest's default within a file).
 */
export interface ConformanceTarget {
  name: string;
  /** The store under test for the whole suite. */
  store(): Store;
  /**
   * Another client of the same store: for etcd a new connection, for the embedded store
   * (one process owns its data directory) the same instance. The suite closes what it opens.
   */
  client(): Promise<Store>;
  /** Whether client() returns independent connections (so close() on it must not close store()). */
  independentClients: boolean;
  /** A separate store instance the test owns and closes (embedded: its own data directory). */
  fresh(): Promise<Store>;
}
