import type { FieldChange } from "./kind.js";
import type { Action, Plan, PlanSummary } from "./plan.js";

export const SENSITIVE = "(sensitive)";

/** A plan as `--json` prints it (no-op items left out). */
export interface PlanJson {
  changes: {
    kind: string;
    name: string;
    action: Action;
    fields: { path: string; old?: unknown; new?: unknown }[];
  }[];
  summary: PlanSummary;
}

/** The plan for `--json`: `{"changes":[{kind,name,action,fields}],"summary":{…}}`. */
export function planJson(plan: Plan): PlanJson {
  return {
    changes: plan.changes
      .filter((c) => c.action !== "no-op")
      .map((c) => ({
        kind: c.kind,
        name: c.name,
        action: c.action,
        fields: c.fields.map(fieldJson),
      })),
    summary: { ...plan.summary },
  };
}

function fieldJson(f: FieldChange): { path: string; old?: unknown; new?: unknown } {
  const hide = (v: unknown): unknown => (f.sensitive === true ? SENSITIVE : v);
  return {
    path: f.path,
    ...("old" in f && f.old !== undefined ? { old: hide(f.old) } : {}),
    ...("new" in f && f.new !== undefined ? { new: hide(f.new) } : {}),
  };
}

/** True when applying the plan would change something (orphans count: the platform differs). */
export function hasChanges(plan: Plan): boolean {
  const s = plan.summary;
  return s.create + s.update + s.replace + s.destroy + s.orphan > 0;
}

const SYMBOL: Record<Action, string> = {
  create: "+",
  update: "~",
  replace: "-/+",
  destroy: "-",
  orphan: "!",
  "no-op": " ",
};

export interface Paint {
  green: (s: string) => string;
  red: (s: string) => string;
  bold: (s: string) => string;
  dim: (s: string) => string;
}

const plain: Paint = { green: (s) => s, red: (s) => s, bold: (s) => s, dim: (s) => s };

/** The plan as people read it: one block per changing item, then the summary line. */
export function planText(plan: Plan, paint: Paint = plain): string[] {
  const out: string[] = [];
  for (const c of plan.changes) {
    if (c.action === "no-op") {
      if (c.fields.length === 0) continue;
      out.push(`    ${c.kind} ${c.name}${paint.dim("  (nothing to apply)")}`);
      for (const f of c.fields) out.push(paint.dim(`      ${fieldText(f, c.action)}`));
      continue;
    }
    const colour =
      c.action === "create" ? paint.green : c.action === "update" ? (s: string) => s : paint.red;
    const notes = [
      c.action === "replace" ? "replace" : undefined,
      c.drift === true ? "drift: changed outside the stack" : undefined,
      c.action === "orphan"
        ? `orphan: ${c.note ?? "gone from the spec"}; ${c.note === "protected" ? "never destroyed" : "destroyed with prune: true"}`
        : undefined,
      c.action === "destroy" ? `destroy: ${c.note ?? "gone from the spec"}` : undefined,
    ].filter((n) => n !== undefined);
    out.push(
      `${colour(`${SYMBOL[c.action].padStart(3)} ${c.kind} ${c.name}`)}${notes.length === 0 ? "" : paint.dim(`  (${notes.join("; ")})`)}`,
    );
    for (const f of c.fields) out.push(`      ${fieldText(f, c.action)}`);
  }
  if (out.length > 0) out.push("");
  out.push(summaryLine(plan.summary));
  if (plan.destroysEverything)
    out.push(
      paint.red(
        "Warning: the spec declares nothing and this would destroy what the stack manages; apply refuses it without --allow-empty.",
      ),
    );
  return out;
}

/** `Plan: 3 to create, 1 to update, 0 to destroy, 1 orphaned` (or that nothing changes). */
export function summaryLine(s: PlanSummary): string {
  if (s.create + s.update + s.replace + s.destroy + s.orphan === 0)
    return "No changes: the platform matches the spec.";
  const replace = s.replace > 0 ? `, ${s.replace} to replace` : "";
  return `Plan: ${s.create} to create, ${s.update} to update${replace}, ${s.destroy} to destroy, ${s.orphan} orphaned`;
}

function fieldText(f: FieldChange, action: Action): string {
  const show = (v: unknown): string => (f.sensitive === true ? SENSITIVE : valueText(v));
  const path = f.path === "" ? "(value)" : f.path;
  const forces =
    f.forcesReplace === true ? " (forces replacement)" : f.info === true ? " (not applied)" : "";
  if (action === "create" || f.old === undefined) return `${path}: ${show(f.new)}${forces}`;
  if (f.new === undefined) return `${path}: ${show(f.old)} → (none)${forces}`;
  return `${path}: ${show(f.old)} → ${show(f.new)}${forces}`;
}

/** A value on one line, at most 120 characters. */
export function valueText(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}
