import { createHash } from "node:crypto";
import type { SpecItem } from "./kind.js";

/** JSON with object keys sorted, so equal values always give equal text. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(",")}}`;
}

/**
 * What an item's ownership record remembers of its spec: while the hash is unchanged, any
 * difference from the live platform is a hand edit (drift), not an intended change.
 */
export function specHash(item: SpecItem): string {
  return createHash("sha256")
    .update(stableStringify({ spec: item.spec, protect: item.protect ?? false, drift: item.drift }))
    .digest("base64url")
    .slice(0, 22);
}
