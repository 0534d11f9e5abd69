import { ValidationError } from "../errors.js";
import { TooLargeError } from "./errors.js";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from "./limits.js";
import type { KeyRange } from "./types.js";

/**
 * A key range in bytes: [start, end). `end` undefined means exactly `start`; an empty `end`
 * means "to the end of the keyspace" (etcd's "\0" convention, made explicit).
 */
export interface ByteRange {
  start: Buffer;
  end: Buffer | undefined;
}

const EMPTY = Buffer.alloc(0);

/** Bytes of a key, after checking it is a non-empty string within the size limit. */
export function keyBytes(key: unknown, field = "key"): Buffer {
  if (typeof key !== "string") throw new ValidationError(`${field} must be a string`, field);
  if (key.length === 0) throw new ValidationError(`${field} must not be empty`, field);
  const bytes = Buffer.from(key, "utf8");
  if (bytes.length > MAX_KEY_BYTES) {
    throw new TooLargeError(
      `${field} is ${bytes.length} bytes; the limit is ${MAX_KEY_BYTES}`,
      field,
    );
  }
  return bytes;
}

/** The smallest key greater than every key with this prefix; empty when there is none. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return EMPTY;
}

/** Turn a KeyRange into byte bounds, validating it. */
export function toByteRange(range: KeyRange, field = "range"): ByteRange {
  if (typeof range === "string") return { start: keyBytes(range, field), end: undefined };
  if (range === null || typeof range !== "object") {
    throw new ValidationError(`${field} must be a key or a range object`, field);
  }
  if ("prefix" in range) {
    if (typeof range.prefix !== "string")
      throw new ValidationError(`${field}.prefix must be a string`, `${field}.prefix`);
    if (range.prefix === "") return { start: EMPTY, end: EMPTY };
    const start = keyBytes(range.prefix, `${field}.prefix`);
    return { start, end: prefixEnd(start) };
  }
  if ("fromKey" in range) return { start: keyBytes(range.fromKey, `${field}.fromKey`), end: EMPTY };
  if ("key" in range && "end" in range) {
    const start = keyBytes(range.key, `${field}.key`);
    if (typeof range.end !== "string")
      throw new ValidationError(`${field}.end must be a string`, `${field}.end`);
    const end = range.end === "" ? EMPTY : keyBytes(range.end, `${field}.end`);
    return { start, end };
  }
  throw new ValidationError(`${field} must be a key, {prefix}, {key, end} or {fromKey}`, field);
}

/** True when the byte key falls in the range. */
export function inRange(key: Buffer, r: ByteRange): boolean {
  if (r.end === undefined) return key.equals(r.start);
  if (Buffer.compare(key, r.start) < 0) return false;
  return r.end.length === 0 || Buffer.compare(key, r.end) < 0;
}

/** Value bytes from a string (UTF-8) or bytes, after checking the size limit. */
export function valueBytes(value: unknown, field = "value"): Buffer {
  let bytes: Buffer;
  if (typeof value === "string") bytes = Buffer.from(value, "utf8");
  else if (value instanceof Uint8Array)
    bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  else throw new ValidationError(`${field} must be a string or bytes`, field);
  if (bytes.length > MAX_VALUE_BYTES) {
    throw new TooLargeError(
      `${field} is ${bytes.length} bytes; the limit is ${MAX_VALUE_BYTES}`,
      field,
    );
  }
  return bytes;
}

/** Check a revision argument: a non-negative safe integer. */
export function checkRevision(rev: unknown, field = "revision"): number {
  if (typeof rev !== "number" || !Number.isSafeInteger(rev) || rev < 0) {
    throw new ValidationError(`${field} must be a non-negative integer`, field);
  }
  return rev;
}
