import { ValidationError } from "../../errors.js";
import { countArg, flagArg, leaseIdArg, optionsArg } from "../args.js";
import { TooLargeError } from "../errors.js";
import {
  checkRevision,
  inRange,
  keyBytes,
  toByteRange,
  valueBytes,
  type ByteRange,
} from "../keys.js";
import { MAX_LEASE_TTL, MAX_TXN_BYTES, MAX_TXN_OPS } from "../limits.js";
import {
  NO_LEASE,
  type Compare,
  type CompareOp,
  type KeyRange,
  type LeaseId,
  type TxnOp,
  type TxnRequest,
} from "../types.js";

/*
 * Arguments are checked and converted to bytes before a write is queued, so a bad request fails
 * alone and never reaches the group commit it would otherwise share with other writes.
 */

export interface ReadSpec {
  range: ByteRange;
  /** 0 = current. */
  revision: number;
  /** 0 = no limit. */
  limit: number;
  keysOnly: boolean;
  countOnly: boolean;
}

export interface PutSpec {
  key: Buffer;
  keyStr: string;
  value: Buffer;
  lease: LeaseId;
  prevKv: boolean;
}

export interface DeleteSpec {
  range: ByteRange;
  prevKv: boolean;
}

export interface CompareSpec {
  key: Buffer;
  target: Compare["target"];
  op: CompareOp;
  num: number;
  bytes: Buffer;
  lease: LeaseId;
}

export type TxnOpSpec =
  | ({ type: "get" } & ReadSpec)
  | ({ type: "put" } & PutSpec)
  | ({ type: "delete" } & DeleteSpec);

export interface TxnSpec {
  compare: CompareSpec[];
  success: TxnOpSpec[];
  failure: TxnOpSpec[];
}

const COMPARE_OPS: ReadonlySet<string> = new Set(["==", "!=", "<", ">"]);
const NUMBER_TARGETS: ReadonlySet<string> = new Set(["version", "createRevision", "modRevision"]);

function prefixed(prefix: string, name: string): string {
  return prefix === "" ? name : `${prefix}.${name}`;
}

/** A lease id in canonical form (no leading zeros); "0" when absent. */
export const parseLeaseId = (v: unknown, field: string): LeaseId => leaseIdArg(v, field);

/** Compare two canonical decimal ids without BigInt: longer is larger, else by digits. */
export function compareLeaseIds(a: LeaseId, b: LeaseId): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Check a lease TTL in seconds. */
export function checkTtl(ttl: unknown): number {
  if (typeof ttl !== "number" || !Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_LEASE_TTL) {
    throw new ValidationError(`ttl must be an integer from 1 to ${MAX_LEASE_TTL} seconds`, "ttl");
  }
  return ttl;
}

/** Check range/get options; `prefix` names the fields inside a txn. */
export function checkRead(range: ByteRange, opts: unknown, prefix = ""): ReadSpec {
  const o = optionsArg<Record<string, unknown>>(opts, prefix || "options");
  return {
    range,
    revision:
      o.revision === undefined ? 0 : checkRevision(o.revision, prefixed(prefix, "revision")),
    limit: countArg(o.limit, prefixed(prefix, "limit")),
    keysOnly: flagArg(o.keysOnly, prefixed(prefix, "keysOnly")),
    countOnly: flagArg(o.countOnly, prefixed(prefix, "countOnly")),
  };
}

/** Check a put. */
export function checkPut(key: unknown, value: unknown, opts: unknown, prefix = ""): PutSpec {
  const o = optionsArg<Record<string, unknown>>(opts, prefix || "options");
  const keyBuf = keyBytes(key, prefixed(prefix, "key"));
  let bytes = valueBytes(value, prefixed(prefix, "value"));
  // Caller-owned bytes are copied: watchers receive this buffer and the caller may reuse its own.
  if (typeof value !== "string") bytes = Buffer.from(bytes);
  return {
    key: keyBuf,
    keyStr: key as string,
    value: bytes,
    lease: parseLeaseId(o.lease, prefixed(prefix, "lease")),
    prevKv: flagArg(o.prevKv, prefixed(prefix, "prevKv")),
  };
}

/** Check a delete. */
export function checkDelete(range: KeyRange, opts: unknown, prefix = ""): DeleteSpec {
  const o = optionsArg<Record<string, unknown>>(opts, prefix || "options");
  return {
    range: toByteRange(range, prefixed(prefix, "range")),
    prevKv: flagArg(o.prevKv, prefixed(prefix, "prevKv")),
  };
}

function checkCompare(c: unknown, field: string): CompareSpec {
  if (c === null || typeof c !== "object")
    throw new ValidationError(`${field} must be an object`, field);
  const cmp = c as Record<string, unknown>;
  const key = keyBytes(cmp.key, `${field}.key`);
  const op = cmp.op;
  if (typeof op !== "string" || !COMPARE_OPS.has(op)) {
    throw new ValidationError(`${field}.op must be one of ==, !=, <, >`, `${field}.op`);
  }
  const spec: CompareSpec = {
    key,
    target: "value",
    op: op as CompareOp,
    num: 0,
    bytes: Buffer.alloc(0),
    lease: NO_LEASE,
  };
  const target = cmp.target;
  if (target === "value") {
    spec.bytes = valueBytes(cmp.value, `${field}.value`);
  } else if (typeof target === "string" && NUMBER_TARGETS.has(target)) {
    if (typeof cmp.value !== "number" || !Number.isSafeInteger(cmp.value)) {
      throw new ValidationError(`${field}.value must be an integer`, `${field}.value`);
    }
    spec.target = target as CompareSpec["target"];
    spec.num = cmp.value;
  } else if (target === "lease") {
    spec.target = "lease";
    spec.lease = parseLeaseId(cmp.value, `${field}.value`);
  } else {
    throw new ValidationError(
      `${field}.target must be value, version, createRevision, modRevision or lease`,
      `${field}.target`,
    );
  }
  return spec;
}

function checkTxnOp(op: unknown, field: string): TxnOpSpec {
  if (op === null || typeof op !== "object")
    throw new ValidationError(`${field} must be an object`, field);
  const o = op as TxnOp;
  switch (o.type) {
    case "get":
      return { type: "get", ...checkRead(toByteRange(o.range, `${field}.range`), o, field) };
    case "put":
      return { type: "put", ...checkPut(o.key, o.value, o, field) };
    case "delete":
      return { type: "delete", ...checkDelete(o.range, o, field) };
    default:
      throw new ValidationError(`${field}.type must be get, put or delete`, `${field}.type`);
  }
}

function list(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ValidationError(`${field} must be an array`, field);
  if (v.length > MAX_TXN_OPS) {
    throw new TooLargeError(`${field} has ${v.length} entries; the limit is ${MAX_TXN_OPS}`, field);
  }
  return v;
}

/**
 * etcd rejects a branch that writes one key twice: two puts of it, or a put inside a range the
 * same branch deletes (overlapping deletes are fine: the second finds nothing).
 */
function checkDuplicates(ops: TxnOpSpec[], field: string): void {
  const puts = new Set<string>();
  const deletes: ByteRange[] = [];
  for (const op of ops) if (op.type === "delete") deletes.push(op.range);
  for (const op of ops) {
    if (op.type !== "put") continue;
    const id = op.key.toString("latin1");
    if (puts.has(id) || deletes.some((r) => inRange(op.key, r))) {
      throw new ValidationError(`${field} writes the key ${op.keyStr} more than once`, field);
    }
    puts.add(id);
  }
}

/** Check a transaction: shapes, limits, and that no branch writes a key twice. */
export function checkTxn(req: unknown): TxnSpec {
  if (req === null || typeof req !== "object")
    throw new ValidationError("txn must be an object", "txn");
  const r = req as TxnRequest;
  const spec: TxnSpec = {
    compare: list(r.compare, "compare").map((c, i) => checkCompare(c, `compare[${i}]`)),
    success: list(r.success, "success").map((op, i) => checkTxnOp(op, `success[${i}]`)),
    failure: list(r.failure, "failure").map((op, i) => checkTxnOp(op, `failure[${i}]`)),
  };
  checkDuplicates(spec.success, "success");
  checkDuplicates(spec.failure, "failure");
  // Counted over the whole request, as etcd's --max-request-bytes is.
  let bytes = 0;
  for (const c of spec.compare) bytes += c.key.length + c.bytes.length;
  for (const op of [...spec.success, ...spec.failure]) {
    if (op.type === "put") bytes += op.key.length + op.value.length;
    else bytes += op.range.start.length + (op.range.end?.length ?? 0);
  }
  if (bytes > MAX_TXN_BYTES) {
    throw new TooLargeError(`txn is ${bytes} bytes; the limit is ${MAX_TXN_BYTES}`, "txn");
  }
  return spec;
}
