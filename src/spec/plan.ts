import type { OwnershipRecord } from "../model/stack.js";
import { itemKey } from "./check.js";
import { PlanRefusedError } from "./errors.js";
import { specHash } from "./hash.js";
import type { FieldChange, LiveItem, SpecItem } from "./kind.js";
import type { StackSettings } from "./load.js";
import { applyOrder } from "./order.js";
import type { KindRegistry } from "./registry.js";

export const ACTIONS = ["create", "update", "replace", "destroy", "orphan", "no-op"] as const;
export type Action = (typeof ACTIONS)[number];

/** One item of the plan: what will happen to it, and which fields change. */
export interface PlannedChange {
  kind: string;
  name: string;
  action: Action;
  fields: FieldChange[];
  /** The item as the spec declares it (absent for items gone from the spec). */
  item?: SpecItem;
  /** The item as it is live (absent for creates). */
  live?: LiveItem;
  /** The live item differs though its spec is unchanged since the last apply: a hand edit. */
  drift?: boolean;
  /** Why: "gone from the spec", "protected", "under kvPrefixes", "drift: off"… */
  note?: string;
}

export interface PlanSummary {
  create: number;
  update: number;
  replace: number;
  destroy: number;
  orphan: number;
}

export interface Plan {
  settings: StackSettings;
  /** Every item, no-ops included, in the order apply takes them. */
  changes: PlannedChange[];
  summary: PlanSummary;
  /**
   * The spec declares nothing and the apply would destroy what the stack manages (protected
   * items aside): an emptied or truncated gantry.yaml must not wipe the platform by accident.
   */
  destroysEverything: boolean;
  /** Ownership records of items that are gone both from the spec and from the platform. */
  staleRecords: { kind: string; name: string }[];
}

/** Everything the planner decides from: no I/O happens in here. */
export interface PlanInput {
  settings: StackSettings;
  items: readonly SpecItem[];
  /** Live items by kind, then name. */
  live: ReadonlyMap<string, ReadonlyMap<string, LiveItem>>;
  /** Ownership records by `kind/name`. */
  records: ReadonlyMap<string, OwnershipRecord>;
  /** Each spec item's field changes (its kind's `diff`), by `kind/name`. */
  diffs: ReadonlyMap<string, FieldChange[]>;
  /** Per kind: the prefixes the stack owns whole. */
  prefixes: ReadonlyMap<string, readonly string[]>;
  registry: KindRegistry;
}

/**
 * The plan: a pure function of the spec, the live snapshot and the ownership records.
 * - in the spec: create (not live), update/replace (fields differ), no-op;
 * - owned (a record, or under an owned prefix) but gone from the spec: destroy with `prune`,
 *   otherwise orphan; protected items are never destroyed;
 * - a difference on an item whose spec did not change since its last apply is drift: shown
 *   like any update, and left alone when the item's drift mode is `off`.
 */
export function plan(input: PlanInput): Plan {
  const { settings, records, live } = input;
  const changes: PlannedChange[] = [];
  const inSpec = new Set<string>();
  for (const item of input.items) {
    const key = itemKey(item.kind, item.name);
    inSpec.add(key);
    changes.push(planItem(item, live.get(item.kind)?.get(item.name), input));
  }

  const staleRecords: { kind: string; name: string }[] = [];
  const gone = (kind: string, name: string, cur: LiveItem, rec?: OwnershipRecord): void => {
    const note = rec === undefined ? `under ${prefixSectionOf(input, kind)}` : "gone from the spec";
    if (rec?.protect === true)
      changes.push({ kind, name, action: "orphan", fields: [], live: cur, note: "protected" });
    else
      changes.push({
        kind,
        name,
        action: settings.prune ? "destroy" : "orphan",
        fields: [],
        live: cur,
        note,
      });
  };
  for (const [key, rec] of records) {
    // A record of a kind this Gantry does not know (a newer one wrote it) is left as it is.
    if (inSpec.has(key) || input.registry.get(rec.kind) === undefined) continue;
    const cur = live.get(rec.kind)?.get(rec.name);
    if (cur === undefined) staleRecords.push({ kind: rec.kind, name: rec.name });
    else gone(rec.kind, rec.name, cur, rec);
  }
  for (const [kind, prefixes] of input.prefixes) {
    for (const [name, cur] of live.get(kind) ?? []) {
      const key = itemKey(kind, name);
      if (inSpec.has(key) || records.has(key)) continue;
      if (prefixes.some((p) => name.startsWith(p))) gone(kind, name, cur);
    }
  }

  const summary: PlanSummary = { create: 0, update: 0, replace: 0, destroy: 0, orphan: 0 };
  for (const c of changes) if (c.action !== "no-op") summary[c.action]++;
  return {
    settings,
    changes: applyOrder(changes, input.registry),
    summary,
    destroysEverything: summary.destroy > 0 && input.items.length === 0,
    staleRecords,
  };
}

function planItem(item: SpecItem, cur: LiveItem | undefined, input: PlanInput): PlannedChange {
  const key = itemKey(item.kind, item.name);
  const rec = input.records.get(key);
  const fields = input.diffs.get(key) ?? [];
  const base = {
    kind: item.kind,
    name: item.name,
    item,
    ...(cur === undefined ? {} : { live: cur }),
  };
  let action: Action;
  if (cur === undefined) action = "create";
  else if (fields.every((f) => f.info === true)) action = "no-op";
  else action = fields.some((f) => f.forcesReplace === true) ? "replace" : "update";
  // A no-op keeps its info fields: what the stack waits for is still worth showing.
  if (action === "no-op") return { ...base, action, fields };

  const drift =
    rec !== undefined &&
    rec.specHash === specHash(item) &&
    !fields.some((f) => f.fromFiles === true);
  if (drift && (item.drift ?? input.settings.drift) === "off")
    return { ...base, action: "no-op", fields: [], drift, note: "drift: off" };
  if (action === "replace" && (item.protect === true || rec?.protect === true)) {
    const why = fields.filter((f) => f.forcesReplace === true).map((f) => f.path);
    throw new PlanRefusedError(
      `${item.kind} ${item.name} is protected, and a change of ${why.join(", ")} would replace it (destroy, then create); change it by hand or remove protect first`,
    );
  }
  return { ...base, action, fields, ...(drift ? { drift } : {}) };
}

function prefixSectionOf(input: PlanInput, kind: string): string {
  return input.registry.get(kind)?.prefixSection ?? "an owned prefix";
}
