import type { PlanRecord } from "../model/stack.js";
import type { Plan } from "./plan.js";
import { valueText } from "./render.js";

/** At most this many bytes of plan in `stack/info` (it is read by every stack:info and page). */
export const PLAN_RECORD_BYTES = 64 * 1024;
const FIELDS_PER_ITEM = 20;
const TEXT = 200;

const cut = (s: string, n = TEXT): string => (s.length <= n ? s : s.slice(0, n - 1) + "…");

/**
 * The plan an apply carried out, small enough for `stack/info`: changed items only, values as
 * one-line text, sensitive values never (only that they changed). Items past the byte budget
 * are counted in `moreChanges`.
 */
export function planRecord(plan: Plan, maxBytes = PLAN_RECORD_BYTES): PlanRecord {
  const changes: PlanRecord["changes"] = [];
  for (const c of plan.changes) {
    if (c.action === "no-op") continue;
    const fields = c.fields.slice(0, FIELDS_PER_ITEM).map((f) => {
      const secret = f.sensitive === true;
      return {
        path: cut(f.path),
        ...(f.old === undefined || secret ? {} : { old: cut(valueText(f.old)) }),
        ...(f.new === undefined || secret ? {} : { new: cut(valueText(f.new)) }),
        ...(secret ? { sensitive: true } : {}),
      };
    });
    changes.push({
      kind: cut(c.kind, 64),
      name: cut(c.name, 1000),
      action: c.action,
      ...(c.note === undefined ? {} : { note: cut(c.note) }),
      ...(c.drift === true ? { drift: true } : {}),
      fields,
      ...(c.fields.length > FIELDS_PER_ITEM
        ? { moreFields: c.fields.length - FIELDS_PER_ITEM }
        : {}),
    });
  }
  const summary = { ...plan.summary };
  let kept = Math.min(changes.length, 1000);
  // Drop items from the end until the record fits (a halving search keeps it quick).
  const size = (n: number): number =>
    JSON.stringify({ summary, changes: changes.slice(0, n) }).length;
  if (size(kept) > maxBytes) {
    let lo = 0;
    let hi = kept;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (size(mid) <= maxBytes) lo = mid;
      else hi = mid - 1;
    }
    kept = lo;
  }
  return {
    summary,
    changes: changes.slice(0, kept),
    ...(kept < changes.length ? { moreChanges: changes.length - kept } : {}),
  };
}
