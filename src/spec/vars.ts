import { didYouMean } from "../text/suggest.js";
import type { Path } from "../text/yaml-doc.js";

export type Scalar = string | number | boolean;

/** What `${var.X}` and `${env.X}` read. */
export interface VarScope {
  vars: ReadonlyMap<string, Scalar>;
  env: Readonly<Record<string, string | undefined>>;
}

export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const REF = /\$\$\{|\$\{([^}]*)\}|\$\{/g;

/**
 * Replace `${var.NAME}` and `${env.NAME}` in one string (`$${` is a literal `${`). A string that
 * is exactly one reference takes the variable's own type, so `web: ${var.web}` can be a number.
 * Returns the value, or the problems (an undefined name, a malformed reference).
 */
export function interpolate(
  text: string,
  scope: VarScope,
  allow: readonly ("var" | "env")[] = ["var", "env"],
): { value: unknown; problems: string[] } {
  if (!text.includes("$")) return { value: text, problems: [] };
  const problems: string[] = [];
  let whole: Scalar | undefined;
  const out = text.replace(REF, (match, inner: string | undefined, offset: number) => {
    if (match === "$${") return "${";
    if (inner === undefined) {
      problems.push(`"\${" at ${offset + 1} is not closed by "}"`);
      return match;
    }
    const value = lookup(inner.trim(), scope, allow, problems);
    if (value === undefined) return match;
    if (match.length === text.length) whole = value;
    return String(value);
  });
  return { value: whole ?? out, problems };
}

function lookup(
  ref: string,
  scope: VarScope,
  allow: readonly ("var" | "env")[],
  problems: string[],
): Scalar | undefined {
  const dot = ref.indexOf(".");
  const ns = dot < 0 ? "" : ref.slice(0, dot);
  const name = dot < 0 ? ref : ref.slice(dot + 1);
  if ((ns !== "var" && ns !== "env") || !VAR_NAME.test(name)) {
    problems.push(`"\${${ref}}" is not \${var.NAME} or \${env.NAME}`);
    return undefined;
  }
  if (!allow.includes(ns)) {
    problems.push(
      `"\${${ref}}": only ${allow.map((a) => `\${${a}.NAME}`).join(" and ")} may be used here`,
    );
    return undefined;
  }
  if (ns === "var") {
    const v = scope.vars.get(name);
    if (v === undefined)
      problems.push(`undefined variable "var.${name}"${didYouMean(name, scope.vars.keys())}`);
    return v;
  }
  const v = scope.env[name];
  if (v === undefined) problems.push(`environment variable "${name}" is not set (\${env.${name}})`);
  return v;
}

/**
 * Interpolate every string inside a value (map keys are left alone: names are not templates),
 * reporting each problem with its path.
 */
export function interpolateDeep(
  value: unknown,
  scope: VarScope,
  path: Path,
  report: (path: Path, message: string) => void,
): unknown {
  if (typeof value === "string") {
    const r = interpolate(value, scope);
    for (const p of r.problems) report(path, p);
    return r.value;
  }
  if (Array.isArray(value))
    return value.map((v, i) => interpolateDeep(v, scope, [...path, i], report));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = interpolateDeep(v, scope, [...path, k], report);
    return out;
  }
  return value;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}
