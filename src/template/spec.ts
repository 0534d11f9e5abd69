import { ValidationError } from "../errors.js";
import { splitCommand } from "./command.js";
import type { WaitTimes } from "./debounce.js";

/** One `SRC:DEST[:COMMAND]` argument. */
export interface TemplateSpec {
  source: string;
  dest: string;
  /** The command as written, and split into argv (run without a shell). */
  command?: { line: string; argv: string[] };
}

/**
 * Parse `SRC:DEST[:COMMAND]`. SRC and DEST end at the first and second colon; the command is
 * the rest, so it may contain colons itself.
 */
export function parseTemplateSpec(raw: string): TemplateSpec {
  const first = raw.indexOf(":");
  const second = first < 0 ? -1 : raw.indexOf(":", first + 1);
  const source = first < 0 ? raw : raw.slice(0, first);
  const dest = first < 0 ? "" : raw.slice(first + 1, second < 0 ? undefined : second);
  if (source === "" || dest === "")
    throw new ValidationError(`expected SRC:DEST[:COMMAND], got "${raw}"`, "template");
  if (second < 0) return { source, dest };
  const line = raw.slice(second + 1).trim();
  if (line === "") return { source, dest };
  return { source, dest, command: { line, argv: splitCommand(line) } };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration like `250ms`, `2s`, `1m` (or `0`), in milliseconds. */
export function parseDuration(raw: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (m === null || (m[2] === undefined && Number(m[1]) !== 0))
    throw new ValidationError(
      `${field} must be a duration like 250ms, 2s or 1m, got "${raw}"`,
      field,
    );
  return Math.round(Number(m[1]) * UNITS[m[2] ?? "ms"]!);
}

/** `--wait MIN[:MAX]`; MAX defaults to 4×MIN as in consul-template. */
export function parseWaitOption(raw: string): WaitTimes {
  const [min, max, ...rest] = raw.split(":");
  if (rest.length > 0 || min === undefined)
    throw new ValidationError(`--wait must be MIN[:MAX], got "${raw}"`, "--wait");
  const minMs = parseDuration(min, "--wait");
  const maxMs = max === undefined ? minMs * 4 : parseDuration(max, "--wait");
  if (maxMs < minMs)
    throw new ValidationError(`--wait: MAX (${max}) must not be less than MIN (${min})`, "--wait");
  return { minMs, maxMs };
}
