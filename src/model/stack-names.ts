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

/** An item's name: any printable text (kv keys have slashes), at most 1 KB. */
export const ItemNameSchema = z
  .string()
  .min(1)
  .max(1024)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, "must not contain control characters");
