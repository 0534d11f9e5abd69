/**
 * The loader's template checks: every `{{ }}` string and every template `source:` compiles now,
 * so a broken template fails before any change, naming its file, line and field.
 */
import { StateError } from "./errors.js";
import { checkTemplate, isTemplated } from "./render.js";
import { didYouMean } from "../text/suggest.js";
import { isRecord } from "./values.js";
import { fieldName, type Path, type YamlSource } from "./yaml-source.js";

/** What the checks need of the load: the states dir's files, and where problems go. */
export interface TemplateCheckContext {
  files: Record<string, string>;
  errors: StateError[];
}

/** Compile every `{{ }}` string of a resource now, so a broken template fails before any change. */
export function checkTemplates(
  y: YamlSource,
  path: Path,
  value: unknown,
  typeKey: string,
  cx: TemplateCheckContext,
  sub: Path = [],
): void {
  if (typeof value === "string") {
    const isWhen = sub.length === 1 && sub[0] === "when";
    if (!isTemplated(value) && !isWhen) return;
    const problem = checkTemplate(isWhen ? whenTemplate(value) : value);
    if (problem === undefined) return;
    // The wrapper whenTemplate adds would show in nunjucks' words (`unexpected token: %}`).
    const shown = isWhen ? `not a valid expression: ${value.trim()}` : problem;
    cx.errors.push(y.error([...path, ...sub], shown));
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkTemplates(y, path, v, typeKey, cx, [...sub, i]));
  } else if (isRecord(value)) {
    for (const [k, v] of Object.entries(value))
      checkTemplates(y, path, v, typeKey, cx, [...sub, k]);
  }
}

/** `when:` as a template whose output says whether it holds (see render.ts evaluate). */
export function whenTemplate(expr: string): string {
  const inner = expr.trim().match(/^\{\{([\s\S]*)\}\}$/)?.[1] ?? expr;
  return `{% if ${inner} %}1{% endif %}`;
}

/** `source:` of file and template must exist in the states dir; a template's must compile. */
export function checkSources(
  y: YamlSource,
  path: Path,
  typeKey: string,
  props: Record<string, unknown>,
  cx: TemplateCheckContext,
): void {
  const src = props["source"];
  if ((typeKey !== "file" && typeKey !== "template") || typeof src !== "string") return;
  if (isTemplated(src)) return;
  const text = cx.files[src];
  if (text === undefined) {
    const hint = didYouMean(src, Object.keys(cx.files));
    cx.errors.push(y.error([...path, "source"], `no file "${src}" in the states dir${hint}`));
    return;
  }
  if (typeKey !== "template") return;
  const problem = checkTemplate(text, src);
  if (problem === undefined) return;
  // The template's own file:line first; then which resource reads it.
  const at = y.ref([...path, "source"]);
  const field = fieldName([...path, "source"]);
  cx.errors.push(new StateError(undefined, `${problem} (${field} at ${at.file}:${at.line})`));
}

export function templatedAt(value: unknown, path: Path): boolean {
  let v = value;
  for (const p of path) {
    if (typeof v === "string") return isTemplated(v);
    if (v === null || typeof v !== "object") return false;
    v = (v as Record<string | number, unknown>)[p];
  }
  return typeof v === "string" ? isTemplated(v) : hasTemplates(v);
}

/** True when a value holds a `{{ }}` or `{% %}` string anywhere. */
export function hasTemplates(v: unknown): boolean {
  if (typeof v === "string") return isTemplated(v);
  if (Array.isArray(v)) return v.some(hasTemplates);
  if (isRecord(v)) return Object.values(v).some(hasTemplates);
  return false;
}
