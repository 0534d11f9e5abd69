import { GantryError } from "../errors.js";
import type { SourceRef } from "./types.js";

/**
 * A states dir that cannot run: a schema error, an unknown type, a require cycle, a missing
 * handler, a template that does not compile. The message starts with `file:line:` and names the
 * field, and it is raised before anything changes.
 */
export class StateError extends GantryError {
  readonly source: SourceRef | undefined;

  constructor(source: SourceRef | undefined, message: string, field?: string) {
    const where = source === undefined ? "" : `${source.file}:${source.line}: `;
    const what = field === undefined ? "" : `${field}: `;
    super("invalid_state", `${where}${what}${message}`, {
      status: 400,
      ...(field === undefined ? {} : { field }),
    });
    this.source = source;
  }
}

/**
 * A resource that could not reach its desired state (a command exited 1, apt failed). The
 * message is what the user reads in the report: say what failed and why, already redacted.
 */
export class ResourceFailed extends GantryError {
  constructor(message: string) {
    super("resource_failed", message, { status: 500 });
  }
}
