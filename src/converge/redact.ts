import type { ResourceResult } from "./types.js";

export const REDACTED = "[secret]";

/**
 * Replaces secret values (vars named in `secretVars`, values read with `secret()`) with
 * `[secret]` in everything a run shows: changes, diffs, messages, logs, reports. The set grows
 * during a run, as templates read secrets.
 */
export class Redactor {
  readonly secrets: Set<string>;

  constructor(secrets: Iterable<string> = []) {
    this.secrets = new Set([...secrets].filter((s) => s !== ""));
  }

  add(secret: string): void {
    if (secret !== "") this.secrets.add(secret);
  }

  redact(s: string): string {
    if (this.secrets.size === 0 || s === "") return s;
    // Longest first, so a secret containing another is replaced whole.
    let out = s;
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length))
      if (secret !== "" && out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** A result with every text redacted. */
  result(r: ResourceResult): ResourceResult {
    const out: ResourceResult = {
      ...r,
      name: this.redact(r.name),
      id: this.redact(r.id),
      changes: r.changes.map((c) => this.redact(c)),
    };
    if (r.diff !== undefined) out.diff = this.redact(r.diff);
    if (r.message !== undefined) out.message = this.redact(r.message);
    return out;
  }
}

/** The string forms of a var's value that may appear in output (a number's digits, a list's items). */
export function secretStrings(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return value === "" ? [] : [value];
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return [String(value)];
  if (Array.isArray(value)) return value.flatMap(secretStrings);
  if (typeof value === "object") return Object.values(value).flatMap(secretStrings);
  return [];
}
