/**
 * Cron expressions and their ticks, by croner (https://croner.56k.guru): 5 fields (minute hour
 * day-of-month month day-of-week) or 6 with seconds first, read in an IANA time zone.
 */
import { Cron } from "croner";
import { ValidationError } from "../errors.js";

export interface Schedule {
  /** The first tick strictly after `after`; undefined when there is none (never again). */
  next(after: Date): Date | undefined;
}

/** Parse a schedule; a ValidationError on `field` with croner's reason when it is not one. */
export function parseSchedule(expr: string, tz = "UTC", field = "schedule"): Schedule {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6)
    throw new ValidationError(
      `${field} "${expr}" has ${parts.length} field(s): give 5 (minute hour day month weekday) or 6 (seconds first), e.g. "*/5 * * * *"`,
      field,
    );
  let cron: Cron;
  try {
    cron = new Cron(parts.join(" "), {
      timezone: tz,
      paused: true,
      mode: parts.length === 5 ? "5-part" : "6-part",
    });
    cron.nextRun(new Date()); // a bad time zone shows only when a date is converted
  } catch (err) {
    const reason = (err as Error).message.replace(/^Cron\w*: /, "");
    const which = /timezone/i.test(reason) ? "tz" : field;
    throw new ValidationError(
      which === "tz"
        ? `tz "${tz}" is not an IANA time zone (e.g. UTC, Europe/Paris)`
        : `${field} "${expr}": ${reason}`,
      which,
    );
  }
  return {
    next(after: Date): Date | undefined {
      return cron.nextRun(after) ?? undefined;
    },
  };
}

const WINDOWS_MS = [1000, 60_000, 3_600_000, 86_400_000, 32 * 86_400_000, 367 * 86_400_000];

/**
 * The ticks in (after, upTo]: the first, the latest and how many (counted up to `limit`: past
 * it, `count` is `limit` and the latest is found by looking back from `upTo` in growing windows,
 * so a job every second after a long outage costs little).
 */
export function ticksBetween(
  s: Schedule,
  after: Date,
  upTo: Date,
  limit = 1000,
): { count: number; first?: Date; latest?: Date } {
  const end = upTo.getTime();
  let count = 0;
  let first: Date | undefined;
  let latest: Date | undefined;
  for (let t = s.next(after); t !== undefined && t.getTime() <= end; t = s.next(t)) {
    count++;
    first ??= t;
    latest = t;
    if (count < limit) continue;
    for (const w of WINDOWS_MS) {
      const from = Math.max(after.getTime(), end - w);
      let found: Date | undefined;
      for (let u = s.next(new Date(from)); u !== undefined && u.getTime() <= end; u = s.next(u))
        found = u;
      if (found !== undefined) return { count, first, latest: found };
    }
    break;
  }
  return {
    count,
    ...(first === undefined ? {} : { first }),
    ...(latest === undefined ? {} : { latest }),
  };
}
