import { ValidationError } from "../errors.js";
import { parseDuration } from "../model/duration.js";

/**
 * A duration flag in ms (undefined when not given), refused naming the flag, its range and an
 * example when it is not a duration or falls outside [minMs, maxMs].
 */
export function parseDurationFlag(
  raw: string | undefined,
  flag: string,
  bounds: { minMs: number; maxMs: number; range: string; like: string },
): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < bounds.minMs || ms > bounds.maxMs)
    throw new ValidationError(
      `${flag} must be a duration from ${bounds.range}, like ${bounds.like}, got "${raw}"`,
      flag,
    );
  return ms;
}
