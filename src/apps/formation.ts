import { ONEOFF_TYPES, type Assignment, type Formation } from "../model/app.js";

/**
 * How many instances of each of a release's process types run: the app's formation, and for a
 * type it does not mention, 1 for `web` and 0 for the rest (as on Heroku). Types the release does
 * not have are left out, whatever the formation says, and so are the types that only ever run
 * as one-offs (`release`, `test`, `run`, `cron`: ONEOFF_TYPES).
 */
export function effectiveFormation(
  formation: Formation,
  processTypes: Record<string, string>,
): Formation {
  const out: Formation = {};
  for (const type of sortTypes(Object.keys(processTypes).filter((t) => !ONEOFF_TYPES.has(t))))
    out[type] = formation[type] ?? (type === "web" ? 1 : 0);
  return out;
}

/** `web=3 worker=1`. */
export const formationText = (f: Formation): string =>
  Object.entries(f)
    .map(([type, n]) => `${type}=${n}`)
    .join(" ");

/** `web` first, then the rest by name: the order instances are started and listed in. */
export function sortTypes(types: Iterable<string>): string[] {
  return [...types].sort((a, b) =>
    a === "web" ? -1 : b === "web" ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
}

/** What users call an instance: `web.1`, `worker.2`, `run.3`. */
export const instanceName = (a: Pick<Assignment, "processType" | "index">): string =>
  `${a.processType}.${a.index}`;

/** Assignment (= instance) ids: `<app>-v<release>-<type>-<index>-<suffix>`. */
export function assignmentId(
  app: string,
  release: number,
  processType: string,
  index: number,
  suffix: string,
): string {
  return `${app}-v${release}-${processType.replace(/_/g, "-")}-${index}-${suffix}`;
}
