import { ValidationError } from "../errors.js";
import { NO_LEASE, type LeaseId } from "./types.js";

/**
 * Argument checks both backends share, so they accept and refuse exactly the same inputs and
 * name the same fields.
 */

/** An options object; absent means `{}`. */
export function optionsArg<T extends object>(opts: unknown, field: string): Partial<T> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== "object") throw new ValidationError(`${field} must be an object`, field);
  return opts as Partial<T>;
}

/** A boolean option; absent means false. */
export function flagArg(v: unknown, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new ValidationError(`${field} must be true or false`, field);
  return v;
}

/** A non-negative integer option; absent means 0. */
export function countArg(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new ValidationError(`${field} must be a non-negative integer`, field);
  }
  return v;
}

/** A lease id in canonical form (decimal, no leading zeros, up to 20 digits); "0" when absent. */
export function leaseIdArg(v: unknown, field: string): LeaseId {
  if (v === undefined || v === null) return NO_LEASE;
  if (typeof v !== "string" || !/^[0-9]{1,20}$/.test(v)) {
    throw new ValidationError(`${field} must be a lease id (a decimal string)`, field);
  }
  return v.replace(/^0+/, "") || NO_LEASE;
}
