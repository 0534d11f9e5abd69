import { GantryError } from "../errors.js";

/** A build that cannot succeed as pushed: the message says what to change. */
export class BuildError extends GantryError {
  constructor(message: string, status = 422) {
    super("build_failed", message, { status });
  }
}
