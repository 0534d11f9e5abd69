/**
 * The Store: Gantry's revisioned key/value store, shaped like etcd v3.
 *
 * Every component keeps its state here and talks to the others by writing records and watching
 * prefixes. Two backends implement this interface and pass one conformance suite
 * (src/store/conformance): `sqlite` (embedded, the default) and `etcd`.
 *
 * Semantics follow etcd's:
 * - one global revision, +1 per write transaction (a put, a delete that removed something, or a
 *   txn whose chosen branch wrote something); reads never bump it;
 * - every live key has createRevision, modRevision and version (writes since creation, reset to
 *   0 by a delete, so a re-created key starts again at 1);
 * - keys are non-empty strings ordered by their UTF-8 bytes; values are bytes.
 */

/** Lease ids are decimal strings: etcd's are 63-bit and do not fit a JS number. "0" = no lease. */
export type LeaseId = string;

export const NO_LEASE: LeaseId = "0";

export interface KeyValue {
  key: string;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: LeaseId;
}

/**
 * Which keys an operation applies to:
 * - a string: exactly that key;
 * - `{ prefix }`: every key starting with prefix (`""` means all keys);
 * - `{ key, end }`: the half-open byte range [key, end);
 * - `{ fromKey }`: every key >= fromKey.
 */
export type KeyRange =
  | string
  | { prefix: string }
  | { key: string; end: string }
  | { fromKey: string };

export interface RangeOptions {
  /** Read as of this revision (default: current). Below the compacted revision: CompactedError. */
  revision?: number;
  /** At most this many keys (0 or absent: no limit). `more` tells whether there were others. */
  limit?: number;
  /** Return keys and metadata with empty values. */
  keysOnly?: boolean;
  /** Return only `count`. */
  countOnly?: boolean;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** Number of keys in the range (ignoring limit). */
  count: number;
  /** True when limit cut the result short. */
  more: boolean;
  /** The store's revision the read was served at (the current one unless `revision` was given). */
  revision: number;
}

export interface PutOptions {
  lease?: LeaseId;
  prevKv?: boolean;
}

export interface PutResult {
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteOptions {
  prevKv?: boolean;
}

export interface DeleteResult {
  /** The revision after the delete (unchanged when nothing was deleted). */
  revision: number;
  deleted: number;
  /** Only filled when prevKv was asked for. */
  prevKvs: KeyValue[];
}

export type CompareOp = "==" | "!=" | "<" | ">";

/**
 * A transaction guard. On a key that does not exist: version, createRevision and modRevision are
 * 0, lease is "0", and a value compare is false whatever the operator (as in etcd).
 */
export type Compare =
  | { key: string; target: "value"; op: CompareOp; value: Uint8Array | string }
  | {
      key: string;
      target: "version" | "createRevision" | "modRevision";
      op: CompareOp;
      value: number;
    }
  | { key: string; target: "lease"; op: CompareOp; value: LeaseId };

export type TxnOp =
  | ({ type: "get"; range: KeyRange } & Omit<RangeOptions, "revision">)
  | { type: "put"; key: string; value: Uint8Array | string; lease?: LeaseId; prevKv?: boolean }
  | { type: "delete"; range: KeyRange; prevKv?: boolean };

export interface TxnRequest {
  compare?: Compare[];
  success?: TxnOp[];
  failure?: TxnOp[];
}

export type TxnOpResult =
  | ({ type: "get" } & RangeResult)
  | ({ type: "put" } & PutResult)
  | ({ type: "delete" } & DeleteResult);

export interface TxnResult {
  succeeded: boolean;
  /** All writes of the chosen branch share this revision. */
  revision: number;
  results: TxnOpResult[];
}

export interface LeaseGrant {
  id: LeaseId;
  /** Granted TTL in seconds. */
  ttl: number;
}

export interface LeaseInfo {
  id: LeaseId;
  /** Remaining seconds (rounded up). */
  ttl: number;
  grantedTtl: number;
  /** Attached keys, when asked for. */
  keys: string[];
}

export interface WatchOptions {
  /**
   * Deliver every event with modRevision >= startRevision (default: only events after the
   * watch was created). To resume after a disconnect, pass the last revision seen + 1.
   */
  startRevision?: number;
  /** Include the previous key-value on each event. */
  prevKv?: boolean;
}

export interface WatchEvent {
  type: "put" | "delete";
  /** For a delete: key, modRevision = the delete's revision, version 0, empty value. */
  kv: KeyValue;
  prevKv?: KeyValue;
}

/**
 * A watch is an async iterable of event batches, in revision order, none lost and none twice;
 * all events of one revision arrive in the same batch. Iteration throws CompactedError when
 * startRevision is below the compacted revision (or compaction overtook a slow consumer), and
 * UnavailableError when the backend is gone for good. Breaking out of the loop cancels it.
 */
export interface Watch extends AsyncIterable<WatchEvent[]> {
  /** Stop delivering; a pending iteration ends. Idempotent. */
  cancel(): void;
}

export interface StoreStatus {
  backend: "sqlite" | "etcd";
  revision: number;
  compactRevision: number;
}

/** A store that has lost quorum and serves reads that may be stale (see Store.degraded). */
export interface StoreDegraded {
  /** Since when (ms since the epoch). */
  since: number;
  /** Voting members, and how many of them answered at the last look. */
  voters: number;
  reachable: number;
  /** The revision of the last read served without quorum (the answering member's own). */
  revision: number;
}

export interface Store {
  readonly backend: "sqlite" | "etcd";

  /**
   * Set while the backend has lost quorum (etcd): writes fail with NoQuorumError, and reads are
   * served from a member that still answers, which may be behind (stale). Undefined otherwise,
   * and always for the embedded store.
   */
  readonly degraded?: StoreDegraded | undefined;

  /** One key, or undefined. */
  get(key: string, opts?: Omit<RangeOptions, "limit" | "countOnly">): Promise<KeyValue | undefined>;
  range(range: KeyRange, opts?: RangeOptions): Promise<RangeResult>;
  put(key: string, value: Uint8Array | string, opts?: PutOptions): Promise<PutResult>;
  delete(range: KeyRange, opts?: DeleteOptions): Promise<DeleteResult>;
  txn(req: TxnRequest): Promise<TxnResult>;

  grantLease(ttlSeconds: number): Promise<LeaseGrant>;
  /** Refresh a lease to its full TTL; returns that TTL. LeaseNotFoundError when it is gone. */
  keepAlive(id: LeaseId): Promise<number>;
  /** Revoke a lease and delete its keys (one revision). LeaseNotFoundError when it is gone. */
  revokeLease(id: LeaseId): Promise<void>;
  leaseTimeToLive(id: LeaseId, opts?: { keys?: boolean }): Promise<LeaseInfo>;
  leases(): Promise<LeaseId[]>;

  watch(range: KeyRange, opts?: WatchOptions): Watch;

  /** Discard history before `revision`: reads and watches below it fail with CompactedError. */
  compact(revision: number): Promise<void>;
  status(): Promise<StoreStatus>;
  close(): Promise<void>;
}
