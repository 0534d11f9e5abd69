import { GantryError } from "../errors.js";

/** One problem in a stack's files, as `file:line: path: message`. */
export interface LoadProblem {
  file: string;
  line: number;
  /** `apps.hello.formation.web`; "" for the file itself. */
  path: string;
  message: string;
}

/** `gantry.yaml:12: apps.hello.formation.web: must be at least 0`. */
export function formatProblem(p: LoadProblem): string {
  return `${p.file}:${p.line}: ${p.path === "" ? "" : `${p.path}: `}${p.message}`;
}

/**
 * A stack that does not load: every problem at once, one line each, so a user fixes them in one
 * go. Nothing is read from or written to the platform before the spec loads.
 */
export class SpecLoadError extends GantryError {
  readonly problems: readonly LoadProblem[];

  constructor(problems: readonly LoadProblem[]) {
    const lines = dedupe(problems.map(formatProblem));
    super(
      "invalid_spec",
      `the stack does not load (${lines.length} problem${lines.length === 1 ? "" : "s"}):\n${lines.join("\n")}`,
      { status: 400 },
    );
    this.problems = problems;
  }
}

/** A saved plan whose inputs moved since it was made: applying it would not do what it says. */
export class StalePlanError extends GantryError {
  constructor(what: string) {
    super(
      "stale_plan",
      `the saved plan is stale: ${what} changed since it was made; nothing was applied. Run gantry plan again.`,
      { status: 409 },
    );
  }
}

/** An apply the engine will not start (it would destroy everything, or a protected item). */
export class PlanRefusedError extends GantryError {
  constructor(message: string) {
    super("plan_refused", message, { status: 409 });
  }
}

/** An item failed to apply: the ones before it are applied and recorded; re-running continues. */
export class ApplyFailedError extends GantryError {
  constructor(
    readonly item: { kind: string; name: string; action: string },
    readonly applied: number,
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      "apply_failed",
      `${item.action} of ${item.kind} ${item.name} failed: ${why}\n` +
        `${applied} change${applied === 1 ? " was" : "s were"} applied before it and recorded; run gantry apply again to continue.`,
      { status: 500, cause },
    );
  }
}

function dedupe(lines: string[]): string[] {
  return [...new Set(lines)];
}
