/** What templates read, and the one narrow port they read it through. */

/** A key/value pair as `ls()` and `tree()` give it: `key` is relative to the prefix. */
export interface KeyPair {
  /** The key relative to the prefix asked for (`port` for `app/port` under `app/`). */
  key: string;
  /** The full key. */
  path: string;
  /** The value, decoded as UTF-8. */
  value: string;
}

/** A full key with its value, as a data source holds it. */
export interface KeyEntry {
  key: string;
  value: string;
}

/** One passing instance of a service, as `service(name)` gives it. */
export interface ServiceInstance {
  id: string;
  service: string;
  node: string;
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
  status: string;
}

/** One service of the catalog, as `services()` gives it. */
export interface ServiceSummary {
  name: string;
  tags: string[];
}

/**
 * Something a render read. `ls()` and `tree()` both read a prefix, so they are one kind; a
 * prefix always ends in "/" (or is "" for the whole key space).
 */
export type Dependency =
  | { type: "key"; key: string }
  | { type: "prefix"; prefix: string }
  | { type: "service"; name: string }
  | { type: "services" };

/** A value not loaded yet: the renderer substitutes an empty one and reports the dependency. */
export const PENDING: unique symbol = Symbol("pending");
export type Pending = typeof PENDING;

/**
 * Where a render gets its data. Synchronous on purpose: nunjucks renders synchronously, so the
 * watcher loads what a render asked for and renders again (see render.ts).
 */
export interface DataSource {
  /** A key's value; undefined when the key does not exist. */
  key(key: string): string | undefined | Pending;
  /** Every key under a prefix ("app/"), sorted by key. */
  tree(prefix: string): KeyEntry[] | Pending;
  /** The passing instances of a service (none when it is unknown). */
  service(name: string): ServiceInstance[] | Pending;
  /** Every service in the catalog, sorted by name. */
  services(): ServiceSummary[] | Pending;
}

/** A stable identity for a dependency (map keys, logs). */
export function depId(dep: Dependency): string {
  switch (dep.type) {
    case "key":
      return `key:${dep.key}`;
    case "prefix":
      return `prefix:${dep.prefix}`;
    case "service":
      return `service:${dep.name}`;
    case "services":
      return "services";
  }
}

/** How a dependency reads in a log line. */
export function describeDep(dep: Dependency): string {
  switch (dep.type) {
    case "key":
      return `key "${dep.key}"`;
    case "prefix":
      return `keys under "${dep.prefix}"`;
    case "service":
      return `service "${dep.name}"`;
    case "services":
      return "the service list";
  }
}
