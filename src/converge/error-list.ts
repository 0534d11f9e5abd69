import { StateError } from "./errors.js";

/**
 * Every problem found in a states dir at once, one `file:line: field: message` per line, so a
 * user fixes them in one go. It is a StateError (code `invalid_state`) like each of its parts.
 */
export class StateErrors extends StateError {
  readonly errors: readonly StateError[];

  constructor(errors: readonly StateError[]) {
    const first = errors[0];
    super(undefined, errors.map((e) => e.message).join("\n"));
    this.errors = errors;
    // The first problem's place, for callers that show one.
    Object.defineProperty(this, "source", { value: first?.source });
  }
}

/** Throw the collected errors, if any. */
export function throwIfAny(errors: readonly StateError[]): void {
  if (errors.length === 0) return;
  throw new StateErrors(dedupe(errors));
}

function dedupe(errors: readonly StateError[]): StateError[] {
  const seen = new Set<string>();
  return errors.filter((e) => !seen.has(e.message) && seen.add(e.message) !== undefined);
}
