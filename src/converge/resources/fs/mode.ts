import * as z from "zod";

const OCTAL = /^0?[0-7]{3}$|^[0-7]{4}$/;

/**
 * A permission mode as written in a state file: a quoted octal string ("0644", "644", "2775").
 * A YAML number is refused: YAML 1.2 reads `0644` as decimal 644, which is never what was meant.
 * (A `{{ }}` value is checked by the loader only once compile has rendered it.)
 */
export const modeField = z
  .string({ error: 'must be an octal string in quotes, like "0644"' })
  .refine((s) => OCTAL.test(s), {
    error: 'must be an octal string in quotes, like "0644"',
  });

/** "0644" → 0o644, or undefined when it is not an octal mode. */
export function parseMode(s: string): number | undefined {
  return OCTAL.test(s) ? parseInt(s, 8) : undefined;
}

/** 0o644 → "0644" (permission bits and setuid/setgid/sticky only). */
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}
