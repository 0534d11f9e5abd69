import * as z from "zod";

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const PART = /(\d{1,9})(ms|s|m|h)/gy;

/**
 * Milliseconds in a duration such as "500ms", "10s", "1m" or "1m30s"; undefined when the text is
 * not one. Units: ms, s, m, h (no bare numbers: "10" could mean seconds or milliseconds).
 */
export function parseDuration(text: string): number | undefined {
  if (text === "") return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let m: RegExpExecArray | null;
  while ((m = PART.exec(text)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    if (PART.lastIndex === text.length) return total;
  }
  return undefined;
}

/** Format milliseconds compactly ("1m30s", "250ms"). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("");
}

/** A duration string checked against bounds (in milliseconds); the parsed value stays a string. */
export function durationSchema(minMs: number, maxMs: number): z.ZodType<string> {
  return z.string().superRefine((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not a duration like "500ms", "10s" or "1m"`,
      });
    } else if (ms < minMs || ms > maxMs) {
      ctx.addIssue({
        code: "custom",
        message: `must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}, got "${value}"`,
      });
    }
  });
}

/** Milliseconds of a duration already validated by a schema. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`not a duration: ${text}`);
  return ms;
}
