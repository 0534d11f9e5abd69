import { isGantryError } from "../errors.js";
import type { Output } from "../output/output.js";

/**
 * The one place the CLI turns an error into what the user sees: one clear line (plus the field
 * for validation errors) and an exit code; the stack only with --debug or for real bugs.
 */
export function reportError(o: Output, err: unknown, debug: boolean): number {
  if (isGantryError(err)) {
    const where = err.field === undefined ? "" : ` (${err.field})`;
    o.err(`gantry: ${err.message}${where}`);
    if (debug && err.stack) o.err(err.stack);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  o.err(`gantry: unexpected error: ${message}`);
  if (debug && err instanceof Error && err.stack) o.err(err.stack);
  else o.err("gantry: run again with --debug for details, and please report it");
  return 70; // EX_SOFTWARE: this is a bug, not bad input
}
