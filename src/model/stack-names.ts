import * as z from "zod";

/**
 * The names the stack engine checks a gantry.yaml with (item names, drift modes): apart from the
 * records in stack.ts, so that loading a stack does not build every record's schema.
 */

export const DRIFT_MODES = ["correct", "warn", "off"] as const;
export const DriftSchema = z.enum(DRIFT_MODES);
export type DriftMode = z.infer<typeof DriftSchema>;

/** A kind's name as it appears in plans and keys: `app`, `kv`, `service`, … */
export const KindNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, "lower-case letters, digits and dashes, at most 32");

const ITEM_NAME_MAX = 1024;
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;

/** An item's name: any printable text (kv keys have slashes), at most 1 KB. */
export const ItemNameSchema = z
  .string()
  .min(1)
  .max(ITEM_NAME_MAX)
  .regex(PRINTABLE, "must not contain control characters");

/**
 * ItemNameSchema's test without a zod parse, for the loader's 1,000s of names (~10 ms of a
 * plan's start otherwise); a name it refuses is parsed for the message.
 */
export function isItemName(name: string): boolean {
  return name.length >= 1 && name.length <= ITEM_NAME_MAX && PRINTABLE.test(name);
}
