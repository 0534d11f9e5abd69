import type { Report } from "../converge/types.js";
import type { ContainerOutcome } from "./container.js";
import { EXIT_NO_NODE } from "./container.js";
import { BakeError } from "./errors.js";

/** A bake that ran and failed: the report (when there is one) and the kept container's name. */
export class BakeFailed extends BakeError {
  report: Report | undefined;
  kept: string | undefined;

  constructor(code: string, message: string, report: Report | undefined) {
    super(code, message, code === "bake_no_node" ? 400 : 500);
    this.report = report;
  }
}

/** Why a finished bake container did not give an image, as one clear error. */
export function failure(outcome: ContainerOutcome, interrupted: boolean): BakeFailed {
  const { report, exitCode } = outcome;
  if (interrupted)
    return new BakeFailed(
      "bake_interrupted",
      "the bake was interrupted: no image was made",
      report,
    );
  if (exitCode === EXIT_NO_NODE) {
    const why = outcome.stderr.find((l) => l.startsWith("gantry: "))?.slice("gantry: ".length);
    return new BakeFailed(
      "bake_no_node",
      `${why ?? "the image has no node >= 20"}: a bake runs Gantry's converge inside the image, so --from needs node >= 20 (gantry's base image has it)`,
      undefined,
    );
  }
  const failed = report?.resources.filter((r) => r.status === "failed") ?? [];
  if (failed.length > 0) {
    const what = failed.map((r) => `${r.id}: ${r.message ?? "failed"}`).join("; ");
    return new BakeFailed("bake_failed", `the bake failed, no image was made: ${what}`, report);
  }
  if (outcome.error !== undefined)
    return new BakeFailed(
      outcome.error.code === "invalid_state" ? "invalid_state" : "bake_runner_failed",
      `the bake failed, no image was made: ${outcome.error.message}`,
      report,
    );
  const tail = outcome.stderr.slice(-5).join("\n");
  return new BakeFailed(
    "bake_runner_failed",
    `the converge runner exited ${exitCode} without a report${tail === "" ? "" : `:\n${tail}`}`,
    report,
  );
}
