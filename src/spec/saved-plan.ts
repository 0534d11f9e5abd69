import * as z from "zod";
import { ValidationError } from "../errors.js";
import { DriftSchema } from "../model/stack-names.js";
import { parseWith } from "../validate.js";
import { StalePlanError } from "./errors.js";
import { stableStringify } from "./hash.js";
import type { SpecItem } from "./kind.js";
import type { PlanSource, Snapshot } from "./live.js";
import type { Plan } from "./plan.js";
import { planJson, type PlanJson } from "./render.js";

export const SAVED_PLAN_FORMAT = "gantry-plan/1";

const Revisions = z.record(z.string(), z.number().int().min(0));

const SavedPlanSchema = z.strictObject({
  format: z.literal(SAVED_PLAN_FORMAT),
  createdAt: z.string(),
  dir: z.string(),
  commit: z.string().optional(),
  settings: z.strictObject({
    name: z.string(),
    drift: DriftSchema,
    prune: z.boolean(),
  }),
  items: z.array(
    z.strictObject({
      kind: z.string(),
      name: z.string(),
      spec: z.unknown(),
      protect: z.boolean().optional(),
      drift: DriftSchema.optional(),
    }),
  ),
  prefixes: z.record(z.string(), z.array(z.string())),
  /** What the plan was made from: each live item's store revisions, each record's. */
  read: z.strictObject({
    live: z.record(z.string(), z.record(z.string(), Revisions)),
    records: Revisions,
  }),
  plan: z.custom<PlanJson>((v) => typeof v === "object" && v !== null),
});
export type SavedPlan = z.infer<typeof SavedPlanSchema>;

/** A plan written by `gantry plan --out`: the spec it was made from and every revision it read. */
export function savePlan(
  source: PlanSource & { dir: string },
  snapshot: Snapshot,
  plan: Plan,
  commit?: string,
): SavedPlan {
  const live: SavedPlan["read"]["live"] = {};
  for (const [kind, items] of snapshot.live) {
    const byName: Record<string, Record<string, number>> = {};
    for (const [name, item] of items) byName[name] = item.revisions;
    live[kind] = byName;
  }
  const records: Record<string, number> = {};
  for (const [key, r] of snapshot.records) records[key] = r.modRevision ?? 0;
  return {
    format: SAVED_PLAN_FORMAT,
    createdAt: new Date().toISOString(),
    dir: source.dir,
    ...(commit === undefined ? {} : { commit }),
    settings: { ...source.settings },
    // Not `at`: reading it would parse gantry.yaml again for positions, and lines can move.
    items: source.items.map((i) => ({
      kind: i.kind,
      name: i.name,
      spec: i.spec,
      ...(i.protect === undefined ? {} : { protect: i.protect }),
      ...(i.drift === undefined ? {} : { drift: i.drift }),
    })),
    prefixes: Object.fromEntries(source.prefixes),
    read: { live, records },
    plan: planJson(plan),
  };
}

/** Parse a saved plan file's text; a file that is not one is a clear error naming it. */
export function readSavedPlan(text: string, file: string): SavedPlan {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ValidationError(`${file} is not a saved plan (not JSON)`, "FILE");
  }
  if ((data as { format?: unknown } | null)?.format !== SAVED_PLAN_FORMAT)
    throw new ValidationError(
      `${file} is not a saved plan (${SAVED_PLAN_FORMAT}); make one with gantry plan --out`,
      "FILE",
    );
  return parseWith(SavedPlanSchema, data, file);
}

/** The stack a saved plan was made from, to plan again against today's platform. */
export function savedSource(saved: SavedPlan): PlanSource & { dir: string } {
  const items: SpecItem[] = saved.items.map((i) => ({
    ...i,
    at: `${saved.dir}/gantry.yaml (saved plan)`,
  }));
  return {
    dir: saved.dir,
    settings: saved.settings,
    items,
    prefixes: new Map(Object.entries(saved.prefixes)),
  };
}

/**
 * Refuse a saved plan whose inputs moved: any live item or ownership record whose revision is
 * not the one the plan read, that appeared or that went away (Terraform's saved plans; Nomad's
 * check-index). Then the plan made again now must be the plan that was saved.
 */
export function assertFresh(saved: SavedPlan, now: Snapshot, replanned: Plan): void {
  for (const [kind, items] of Object.entries(saved.read.live)) {
    const cur = now.live.get(kind) ?? new Map();
    for (const [name, revisions] of Object.entries(items)) {
      const item = cur.get(name);
      if (item === undefined) throw new StalePlanError(`${kind} ${name} (deleted)`);
      if (stableStringify(item.revisions) !== stableStringify(revisions))
        throw new StalePlanError(`${kind} ${name}`);
    }
    for (const name of cur.keys())
      if (items[name] === undefined) throw new StalePlanError(`${kind} ${name} (created)`);
  }
  for (const [kind, cur] of now.live)
    if (saved.read.live[kind] === undefined && cur.size > 0)
      throw new StalePlanError(`${kind} ${cur.keys().next().value as string} (created)`);
  const records = saved.read.records;
  for (const [key, rec] of now.records)
    if (records[key] !== (rec.modRevision ?? 0))
      throw new StalePlanError(`the stack's record of ${key.replace("/", " ")}`);
  for (const key of Object.keys(records))
    if (!now.records.has(key))
      throw new StalePlanError(`the stack's record of ${key.replace("/", " ")} (forgotten)`);
  if (stableStringify(planJson(replanned)) !== stableStringify(saved.plan))
    throw new StalePlanError("the plan itself (it would now do something else)");
}
