import type { FieldChange } from "./kind.js";
import { isPlainObject } from "./vars.js";

/**
 * Field-by-field difference between a live value and a desired one, for kinds to build their
 * `diff` from: maps are compared key by key (`meta.team`), lists of equal length item by item
 * (`checks[0].interval`), anything else whole. `undefined` on one side is an added or removed
 * field. Paths start at `path`.
 */
export function diffValues(oldValue: unknown, newValue: unknown, path = ""): FieldChange[] {
  if (deepEqual(oldValue, newValue)) return [];
  const at = (k: string | number): string =>
    typeof k === "number" ? `${path}[${k}]` : path === "" ? k : `${path}.${k}`;
  if (isPlainObject(oldValue) && isPlainObject(newValue)) {
    const keys = [...new Set([...Object.keys(oldValue), ...Object.keys(newValue)])].sort();
    return keys.flatMap((k) => diffValues(oldValue[k], newValue[k], at(k)));
  }
  if (Array.isArray(oldValue) && Array.isArray(newValue) && oldValue.length === newValue.length)
    return oldValue.flatMap((v, i) => diffValues(v, newValue[i], at(i)));
  return [
    {
      path,
      ...(oldValue === undefined ? {} : { old: oldValue }),
      ...(newValue === undefined ? {} : { new: newValue }),
    },
  ];
}

/** The fields of a new item, as a plan shows a create: one per leaf of its maps. */
export function createFields(value: unknown, path = ""): FieldChange[] {
  if (value === undefined) return [];
  if (isPlainObject(value) && Object.keys(value).length > 0)
    return Object.keys(value)
      .sort()
      .flatMap((k) => createFields(value[k], path === "" ? k : `${path}.${k}`));
  return [{ path, new: value }];
}

/** Structural equality of JSON-like values (key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = Object.keys(ao).filter((k) => ao[k] !== undefined);
  if (keys.length !== Object.keys(bo).filter((k) => bo[k] !== undefined).length) return false;
  for (const k of keys) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}
