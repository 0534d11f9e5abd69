/**
 * What goes into a Dockerfile build besides the source, decided without I/O: which config
 * reaches it as build args, whether there is room to build, the image's labels and names.
 */
import { statfsSync } from "node:fs";
import { BuildError } from "./errors.js";
import { formatBytes } from "./tarball.js";

/** Default free-space floor for a build: 2 GB on the data directory's filesystem. */
export const DEFAULT_MIN_FREE_BYTES = 2 * 1024 ** 3;

/**
 * The build args of a build: only the config names the app declares (`App.buildArgs`), with
 * their values; the rest of the config never reaches a build. Declared names without a value
 * are `missing` (the Dockerfile's ARG default applies).
 */
export function selectBuildArgs(
  declared: readonly string[] | undefined,
  config: Readonly<Record<string, string>>,
): { args: Record<string, string>; missing: string[] } {
  const args: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of declared ?? []) {
    if (Object.hasOwn(config, name)) args[name] = config[name]!;
    else missing.push(name);
  }
  return { args, missing };
}

/** Refuse to start a build with less than `floor` bytes free (`free`) where `dir` lives. */
export function checkFreeSpace(dir: string, free: number, floor: number): void {
  if (free >= floor) return;
  throw new BuildError(
    `only ${formatBytes(free)} free on the filesystem of ${dir}; builds need at least ${formatBytes(floor)} (free some space, or lower the build setting minFreeBytes)`,
    507,
  );
}

/** Bytes free for unprivileged use on the filesystem holding `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** The labels of an image Gantry built (`gantry.release` is set when the version is known). */
export function imageLabels(app: string, build: string, release?: number): Record<string, string> {
  return {
    "gantry.app": app,
    "gantry.build": build,
    ...(release === undefined ? {} : { "gantry.release": String(release) }),
  };
}

/** `<registry>/<app>`: an app's repository in Gantry's registry. */
export const appRepository = (registry: string, app: string): string => `${registry}/${app}`;
