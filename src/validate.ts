import type { ZodType } from "zod";
import { ValidationError } from "./errors.js";

/**
 * Parse untrusted data with a zod schema; on failure throw one ValidationError naming the first
 * offending field (`tags.2`, `check.interval`), so API, CLI and spec loader report alike.
 */
export function parseWith<T>(schema: ZodType<T>, data: unknown, root?: string): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = [...(root === undefined ? [] : [root]), ...issue.path.map(String)];
  const field = path.join(".");
  let message = issue.message;
  if (issue.code === "unrecognized_keys") {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    const where = field === "" ? "" : ` in ${field}`;
    throw new ValidationError(
      `unknown field${keys.length > 1 ? "s" : ""} ${keys.map((k) => `"${k}"`).join(", ")}${where}`,
      [field, keys[0]].filter((s) => s).join("."),
    );
  }
  if (field !== "") message = `${field}: ${message}`;
  throw new ValidationError(message, field === "" ? undefined : field);
}
