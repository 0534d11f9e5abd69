import { NO_LEASE, type KeyValue, type LeaseId, type WatchEvent } from "../types.js";
import type { CurrentRow } from "./statements.js";

/** The value of deleted keys and keys-only reads; zero-length, so sharing it is safe. */
export const EMPTY_VALUE: Buffer = Buffer.alloc(0);

/** A lease column (an integer, 0 = none) as a LeaseId. */
export function leaseId(lease: number): LeaseId {
  return lease === 0 ? NO_LEASE : String(lease);
}

/**
 * A KeyValue from a raw row of the KV statements (statements.ts): key text, value (NULL for
 * keys-only), createRevision, modRevision, version, lease. Raw rows skip better-sqlite3's
 * per-row objects, which roughly doubles range read throughput.
 */
export function kvFromRaw(row: unknown): KeyValue {
  const r = row as [string, Buffer | null, number, number, number, number];
  return {
    key: r[0],
    value: r[1] ?? EMPTY_VALUE,
    createRevision: r[2],
    modRevision: r[3],
    version: r[4],
    lease: leaseId(r[5]),
  };
}

/** A KeyValue from a `current` row. */
export function kvFromCurrent(key: string, row: CurrentRow): KeyValue {
  return {
    key,
    value: row.value,
    createRevision: row.create_rev,
    modRevision: row.mod_rev,
    version: row.version,
    lease: leaseId(row.lease),
  };
}

/** What a delete event carries: etcd's shape, the key at the delete's revision, version 0. */
export function tombstoneKv(key: string, rev: number): KeyValue {
  return {
    key,
    value: EMPTY_VALUE,
    createRevision: 0,
    modRevision: rev,
    version: 0,
    lease: NO_LEASE,
  };
}

/**
 * One event of a commit, ready for every watcher: `full` carries prevKv (when there was one),
 * `bare` is the same event without it; they are the same object when there is no prevKv.
 */
export interface HubEvent {
  rev: number;
  key: Buffer;
  full: WatchEvent;
  bare: WatchEvent;
}

/** Wrap a change for the watch hub. */
export function hubEvent(
  type: "put" | "delete",
  rev: number,
  key: Buffer,
  kv: KeyValue,
  prevKv: KeyValue | undefined,
): HubEvent {
  if (prevKv === undefined) {
    const event: WatchEvent = { type, kv };
    return { rev, key, full: event, bare: event };
  }
  return { rev, key, full: { type, kv, prevKv }, bare: { type, kv } };
}
