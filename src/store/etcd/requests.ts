/**
 * Store arguments → etcd requests, validated first so that bad input gets the same
 * ValidationError or TooLargeError (naming the field) as from the embedded store, and never
 * reaches etcd.
 */
import type {
  ICompare,
  IDeleteRangeRequest,
  IPutRequest,
  IRangeRequest,
  IRequestOp,
  ITxnRequest,
} from "etcd3";
import { ValidationError } from "../../errors.js";
import { LeaseNotFoundError, TooLargeError } from "../errors.js";
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
  type DeleteOptions,
  type KeyRange,
  type LeaseId,
  type PutOptions,
  type RangeOptions,
  type TxnOp,
  type TxnRequest,
} from "../types.js";
import { countArg, flagArg, leaseIdArg, optionsArg } from "../args.js";
import { etcdRange } from "./convert.js";

const MAX_INT64 = (1n << 63n) - 1n;

/**
 * A lease id: a decimal string, in canonical form ("0" = none; absent = none). As in the
 * embedded store, up to 20 digits are accepted; one beyond etcd's int64 cannot exist.
 */
export function leaseId(id: unknown, field = "lease"): LeaseId {
  const canonical = leaseIdArg(id, field);
  if (BigInt(canonical) > MAX_INT64) throw new LeaseNotFoundError(canonical);
  return canonical;
}

function integer(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new ValidationError(`${field} must be an integer`, field);
  }
  return v;
}

export function leaseTtl(ttl: unknown): number {
  if (typeof ttl !== "number" || !Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_LEASE_TTL) {
    throw new ValidationError(
      `ttl must be a whole number of seconds from 1 to ${MAX_LEASE_TTL}`,
      "ttl",
    );
  }
  return ttl;
}

/** A revision to read at: 0 (current) or a positive one. */
export function revisionArg(rev: unknown, field = "revision"): number {
  return rev === undefined ? 0 : checkRevision(rev, field);
}

/**
 * A range read. `prefix` names option fields inside a transaction ("success[0]."); a get
 * inside a transaction has no revision of its own.
 */
export function rangeRequest(
  range: unknown,
  opts: unknown,
  field = "range",
  prefix = "",
): { req: IRangeRequest; revision: number } {
  const o = optionsArg<RangeOptions>(opts, "options");
  const req: IRangeRequest = etcdRange(toByteRange(range as KeyRange, field));
  const revision = prefix === "" ? revisionArg(o.revision) : 0;
  if (revision > 0) req.revision = revision;
  const limit = countArg(o.limit, `${prefix}limit`);
  if (limit > 0) req.limit = limit;
  if (flagArg(o.keysOnly, `${prefix}keysOnly`)) req.keys_only = true;
  if (flagArg(o.countOnly, `${prefix}countOnly`)) req.count_only = true;
  return { req, revision };
}

export function putRequest(key: unknown, value: unknown, opts: unknown, field = ""): IPutRequest {
  const o = optionsArg<PutOptions>(opts, "options");
  const req: IPutRequest = {
    key: keyBytes(key, `${field}key`),
    value: valueBytes(value, `${field}value`),
  };
  const lease = leaseId(o.lease, `${field}lease`);
  if (lease !== NO_LEASE) req.lease = lease;
  if (flagArg(o.prevKv, `${field}prevKv`)) req.prev_kv = true;
  return req;
}

export function deleteRequest(
  range: unknown,
  opts: unknown,
  field = "range",
  prefix = "",
): { req: IDeleteRangeRequest; range: ByteRange } {
  const o = optionsArg<DeleteOptions>(opts, "options");
  const bytes = toByteRange(range as KeyRange, field);
  const req: IDeleteRangeRequest = etcdRange(bytes);
  if (flagArg(o.prevKv, `${prefix}prevKv`)) req.prev_kv = true;
  return { req, range: bytes };
}

const RESULTS = { "==": 0, ">": 1, "<": 2, "!=": 3 } as const;
const TARGETS = { version: 0, createRevision: 1, modRevision: 2, value: 3, lease: 4 } as const;

function compareRequest(c: Compare, field: string): ICompare {
  if (typeof c !== "object" || c === null)
    throw new ValidationError(`${field} must be an object`, field);
  const result = RESULTS[c.op as keyof typeof RESULTS];
  if (result === undefined)
    throw new ValidationError(`${field}.op must be one of ==, !=, <, >`, `${field}.op`);
  const target = TARGETS[c.target as keyof typeof TARGETS];
  if (target === undefined) {
    throw new ValidationError(
      `${field}.target must be one of value, version, createRevision, modRevision, lease`,
      `${field}.target`,
    );
  }
  const out: ICompare = { key: keyBytes(c.key, `${field}.key`), result, target };
  switch (c.target) {
    case "value":
      out.value = valueBytes(c.value, `${field}.value`);
      break;
    case "version":
      out.version = integer(c.value, `${field}.value`);
      break;
    case "createRevision":
      out.create_revision = integer(c.value, `${field}.value`);
      break;
    case "modRevision":
      out.mod_revision = integer(c.value, `${field}.value`);
      break;
    case "lease":
      out.lease = leaseId(c.value, `${field}.value`);
      break;
  }
  return out;
}

/** Bytes of a range as keys.ts spells it ("to the end" as an empty end). */
function rangeBytes(r: { key?: Buffer; range_end?: Buffer }): number {
  const zero = (b: Buffer | undefined): number =>
    b === undefined || (b.length === 1 && b[0] === 0) ? 0 : b.length;
  return zero(r.key) + zero(r.range_end);
}

export type OpKind = "get" | "put" | "delete";

interface Branch {
  ops: IRequestOp[];
  kinds: OpKind[];
  /** Key, value and range bytes, counted as the embedded store counts them. */
  bytes: number;
}

function branch(ops: unknown, name: "success" | "failure"): Branch {
  const out: Branch = { ops: [], kinds: [], bytes: 0 };
  if (ops === undefined) return out;
  if (!Array.isArray(ops)) throw new ValidationError(`${name} must be a list of operations`, name);
  if (ops.length > MAX_TXN_OPS) {
    throw new TooLargeError(
      `${name} has ${ops.length} operations; the limit is ${MAX_TXN_OPS}`,
      name,
    );
  }
  // etcd refuses a branch that writes one key twice (two puts, or a put inside a deleted range).
  const puts = new Map<string, string>();
  const deletes: { range: ByteRange; field: string }[] = [];
  (ops as TxnOp[]).forEach((op, i) => {
    const field = `${name}[${i}]`;
    if (typeof op !== "object" || op === null)
      throw new ValidationError(`${field} must be an operation`, field);
    switch (op.type) {
      case "get": {
        const { req } = rangeRequest(op.range, op, `${field}.range`, `${field}.`);
        out.bytes += rangeBytes(req);
        out.ops.push({ request_range: req });
        break;
      }
      case "put": {
        const req = putRequest(op.key, op.value, op, `${field}.`);
        const id = req.key!.toString("latin1");
        const earlier = puts.get(id);
        if (earlier !== undefined) {
          throw new ValidationError(
            `${field} writes ${JSON.stringify(op.key)} again (${earlier} wrote it)`,
            `${field}.key`,
          );
        }
        puts.set(id, field);
        out.bytes += req.key!.length + req.value!.length;
        out.ops.push({ request_put: req });
        break;
      }
      case "delete": {
        const { req, range } = deleteRequest(op.range, op, `${field}.range`, `${field}.`);
        deletes.push({ range, field });
        out.bytes += rangeBytes(req);
        out.ops.push({ request_delete_range: req });
        break;
      }
      default:
        throw new ValidationError(`${field}.type must be get, put or delete`, `${field}.type`);
    }
    out.kinds.push(op.type);
  });
  for (const [id, putField] of puts) {
    const key = Buffer.from(id, "latin1");
    const del = deletes.find((d) => inRange(key, d.range));
    if (del !== undefined) {
      throw new ValidationError(
        `${putField} writes ${JSON.stringify(key.toString("utf8"))}, which ${del.field} deletes in the same transaction`,
        `${putField}.key`,
      );
    }
  }
  return out;
}

export function txnRequest(t: TxnRequest): {
  req: ITxnRequest;
  success: OpKind[];
  failure: OpKind[];
} {
  if (typeof t !== "object" || t === null)
    throw new ValidationError("txn must be an object", "txn");
  const compares = t.compare ?? [];
  if (!Array.isArray(compares)) throw new ValidationError("compare must be a list", "compare");
  if (compares.length > MAX_TXN_OPS) {
    throw new TooLargeError(
      `compare has ${compares.length} entries; the limit is ${MAX_TXN_OPS}`,
      "compare",
    );
  }
  const compare = compares.map((c, i) => compareRequest(c, `compare[${i}]`));
  const success = branch(t.success, "success");
  const failure = branch(t.failure, "failure");
  // Counted over the whole request, as etcd's --max-request-bytes is.
  let bytes = success.bytes + failure.bytes;
  for (const c of compare) bytes += c.key!.length + (c.value?.length ?? 0);
  if (bytes > MAX_TXN_BYTES) {
    throw new TooLargeError(
      `the transaction writes ${bytes} bytes; the limit is ${MAX_TXN_BYTES}`,
      "txn",
    );
  }
  return {
    req: { compare, success: success.ops, failure: failure.ops },
    success: success.kinds,
    failure: failure.kinds,
  };
}
