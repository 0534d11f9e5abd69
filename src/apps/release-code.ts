/**
 * What a release runs (issue 12): a slug (artifact) or an image pinned by digest, and how (the
 * runtime). Used by the deploy controller and `gantry run` to fill an assignment, and by the
 * release changes that carry a release's code into the next one.
 */
import type { App, Assignment, Release, Runtime } from "../model/app.js";

/** The part of a release that is its code: carried unchanged by config changes and rollbacks. */
export interface ReleaseCode {
  build?: string;
  artifact?: string;
  image?: string;
  runtime?: Runtime;
}

/** Whether a release has code to run (a slug or an image). */
export const hasCode = (r: ReleaseCode | undefined): boolean =>
  r !== undefined && (r.artifact !== undefined || r.image !== undefined);

/** The code fields of a release (absent fields stay absent). */
export function codeFields(r: ReleaseCode | undefined): ReleaseCode {
  return {
    ...(r?.build === undefined ? {} : { build: r.build }),
    ...(r?.artifact === undefined ? {} : { artifact: r.artifact }),
    ...(r?.image === undefined ? {} : { image: r.image }),
    ...(r?.runtime === undefined ? {} : { runtime: r.runtime }),
  };
}

/**
 * The runtime a new release of a build gets: an image always runs in Docker; a slug runs as the
 * app says (absent: process). `process` is left out of the record (absent means process).
 */
export function releaseRuntime(app: App, image: string | undefined): Runtime | undefined {
  const runtime: Runtime = image !== undefined ? "docker" : (app.runtime ?? "process");
  return runtime === "process" ? undefined : runtime;
}

/** What an assignment of `release` runs, and how: artifact or image, runtime, container limits. */
export function assignmentCode(
  release: Release,
  app: App,
): Pick<Assignment, "artifact" | "image" | "runtime" | "container"> {
  return {
    ...(release.artifact === undefined ? {} : { artifact: release.artifact }),
    ...(release.image === undefined ? {} : { image: release.image }),
    ...(release.runtime === undefined ? {} : { runtime: release.runtime }),
    ...(app.container === undefined ? {} : { container: app.container }),
  };
}
