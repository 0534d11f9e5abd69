import type { ZodType } from "zod";
import { didYouMean } from "../text/suggest.js";

/** A schema problem inside one item: the path below the item and what is wrong. */
export interface ItemIssue {
  path: (string | number)[];
  message: string;
}

interface RawIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  expected?: string;
  errors?: RawIssue[][];
}

/**
 * Every problem zod found in one item, worded for people: unknown fields each on their own with
 * a did-you-mean from the schema's own field names, unions as "expected a or b".
 */
export function itemIssues(schema: ZodType, value: unknown): ItemIssue[] {
  const r = schema.safeParse(value);
  if (r.success) return [];
  const out: ItemIssue[] = [];
  for (const issue of r.error.issues as unknown as RawIssue[])
    explain(schema, value, issue, [], out);
  return out;
}

function explain(
  schema: ZodType,
  value: unknown,
  issue: RawIssue,
  base: (string | number)[],
  out: ItemIssue[],
): void {
  const path = [...base, ...issue.path.map((p) => (typeof p === "number" ? p : String(p)))];
  if (issue.code === "unrecognized_keys") {
    const known = keysAt(schema, path);
    for (const k of issue.keys ?? [])
      out.push({ path: [...path, k], message: `unknown field${didYouMean(k, known)}` });
    return;
  }
  if (issue.code === "invalid_type" && issue.expected !== undefined) {
    const got = valueAt(value, path);
    out.push({
      path,
      message:
        got === undefined
          ? `is required (${typeName(issue.expected)})`
          : `expected ${typeName(issue.expected)}, got ${kindOf(got)}`,
    });
    return;
  }
  if (issue.code === "invalid_union" && issue.errors !== undefined && issue.errors.length > 0) {
    const expected = expectedTypes(issue.errors);
    if (expected !== undefined) {
      const names = [...new Set(expected.map(typeName))];
      const list =
        names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names[0];
      out.push({ path, message: `expected ${list}, got ${kindOf(valueAt(value, path))}` });
      return;
    }
    // The branch that got furthest (its issues are deepest) says what is really wrong.
    const best = issue.errors
      .filter((b) => expectedTypes([b]) === undefined)
      .sort((a, b) => depth(b) - depth(a))[0];
    if (best !== undefined) {
      for (const i of best) explain(schema, value, i, path, out);
      return;
    }
  }
  out.push({ path, message: issue.message });
}

const depth = (issues: RawIssue[]): number => Math.max(...issues.map((i) => i.path.length));

/** When every branch of a union failed on the value's type alone: the types it takes. */
function expectedTypes(branches: RawIssue[][]): string[] | undefined {
  const out: string[] = [];
  for (const b of branches) {
    const only = b.length === 1 && b[0]!.path.length === 0 ? b[0]! : undefined;
    if (only?.code === "invalid_type" && only.expected !== undefined) out.push(only.expected);
    else if (only?.code === "invalid_union" && only.errors !== undefined) {
      const inner = expectedTypes(only.errors);
      if (inner === undefined) return undefined;
      out.push(...inner);
    } else return undefined;
  }
  return out;
}

const TYPE_NAMES: Record<string, string> = {
  object: "a map",
  array: "a list",
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true/false",
};

const typeName = (t: string): string => TYPE_NAMES[t] ?? t;

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const p of path)
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  if (typeof v === "string") return `"${v.length > 40 ? `${v.slice(0, 37)}…` : v}"`;
  return String(v);
}

interface Def {
  type: string;
  shape?: Record<string, ZodType>;
  innerType?: ZodType;
  element?: ZodType;
  valueType?: ZodType;
  options?: ZodType[];
  in?: ZodType;
  out?: ZodType;
  left?: ZodType;
  right?: ZodType;
  getter?: () => ZodType;
}

const defOf = (s: ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The field names an object schema takes at `path` (for did-you-mean); [] when unknown. */
export function keysAt(schema: ZodType, path: readonly (string | number)[]): string[] {
  const found = new Set<string>();
  walk(schema, path, found, 0);
  return [...found];
}

function walk(
  s: ZodType,
  path: readonly (string | number)[],
  found: Set<string>,
  guard: number,
): void {
  if (guard > 64) return;
  const d = defOf(s);
  const again = (next: ZodType | undefined, rest = path): void => {
    if (next !== undefined) walk(next, rest, found, guard + 1);
  };
  switch (d.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "nonoptional":
    case "readonly":
    case "catch":
      return again(d.innerType);
    case "pipe":
      again(d.in);
      return again(d.out);
    case "lazy":
      return again(d.getter?.());
    case "union":
      for (const o of d.options ?? []) again(o);
      return;
    case "intersection":
      again(d.left);
      return again(d.right);
  }
  if (path.length === 0) {
    if (d.type === "object") for (const k of Object.keys(d.shape ?? {})) found.add(k);
    return;
  }
  const [head, ...rest] = path;
  if (d.type === "object") return again(d.shape?.[String(head)], rest);
  if (d.type === "array") return again(d.element, rest);
  if (d.type === "record") return again(d.valueType, rest);
}
