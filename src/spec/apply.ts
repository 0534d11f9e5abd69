import { StackClient } from "../client/stack.js";
import type { OwnershipInput } from "../model/stack.js";
import { itemKey } from "./check.js";
import { ApplyFailedError, PlanRefusedError } from "./errors.js";
import { specHash } from "./hash.js";
import type { ApplyStep, Kind, KindContext, SpecItem } from "./kind.js";
import type { Snapshot } from "./live.js";
import { placeAll, type Placed } from "./order.js";
import type { Plan, PlannedChange } from "./plan.js";
import type { KindRegistry } from "./registry.js";

/** What an apply tells its caller as it goes (the CLI prints it; a push streams it). */
export interface ApplyHooks {
  /** An item starts (`start`) or is done and recorded (`done`). */
  onStep?(change: PlannedChange, phase: "start" | "done"): void;
  /** A progress line of one item (an app deploy's lines). */
  onProgress?(change: PlannedChange, line: string): void;
  /** A line shown once to the applier (a new token's secret). */
  onReveal?(change: PlannedChange, line: string): void;
}

export interface ApplyOptions {
  /** Allow an apply that destroys everything the stack manages. */
  allowEmpty?: boolean;
  /** The git commit the spec came from (kept in ownership records). */
  commit?: string;
  hooks?: ApplyHooks;
  /** Batches of one kind in flight at once (default 4). */
  parallel?: number;
}

export interface ApplyResult {
  created: number;
  updated: number;
  replaced: number;
  destroyed: number;
}

const FORWARD = new Set(["create", "update", "replace"]);

/** Units of work: one item, or a batch of items of one kind that do not depend on each other. */
interface Unit {
  kind: Kind;
  changes: PlannedChange[];
  batch: boolean;
  /** Units with the same group key may run at the same time. */
  group: string | undefined;
}

/**
 * Apply a plan: items in dependency order, each kind's batches where it has them, and after
 * each unit its ownership records, so an apply that fails part-way leaves what it did recorded
 * and consistent; running it again continues from there. The first failure stops the apply.
 */
export async function applyPlan(
  ctx: KindContext,
  registry: KindRegistry,
  plan: Plan,
  snapshot: Snapshot,
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  assertApplicable(plan, opts);
  const stacks = new StackClient(ctx.client);
  const result: ApplyResult = { created: 0, updated: 0, replaced: 0, destroyed: 0 };
  let applied = 0;
  const units = unitsOf(placeAll(plan.changes, registry), registry);

  const record = (changes: PlannedChange[]) => {
    const put: OwnershipInput[] = [];
    const del: { kind: string; name: string }[] = [];
    for (const c of changes) {
      if (c.action === "destroy") del.push({ kind: c.kind, name: c.name });
      else if (c.item !== undefined) put.push(ownership(c.item, plan.settings.name, opts.commit));
    }
    return stacks.batch({ put, delete: del });
  };

  const run = async (unit: Unit): Promise<void> => {
    ctx.signal?.throwIfAborted();
    for (const c of unit.changes) opts.hooks?.onStep?.(c, "start");
    try {
      if (unit.batch) await unit.kind.applyBatch!(ctx, unit.changes.map(stepOf));
      else await applyOne(unit.kind, unit.changes[0]!, ctx, opts.hooks);
      await record(unit.changes);
    } catch (err) {
      throw new ApplyFailedError(failedItem(unit), applied, err);
    }
    for (const c of unit.changes) {
      applied++;
      if (c.action === "create") result.created++;
      else if (c.action === "update") result.updated++;
      else if (c.action === "replace") result.replaced++;
      else if (c.action === "destroy") result.destroyed++;
      opts.hooks?.onStep?.(c, "done");
    }
  };

  for (let i = 0; i < units.length; ) {
    const group = units[i]!.group;
    let j = i + 1;
    if (group !== undefined) while (j < units.length && units[j]!.group === group) j++;
    await pool(units.slice(i, j), opts.parallel ?? 4, run);
    i = j;
  }
  await housekeeping(plan, snapshot, stacks, opts.commit);
  return result;
}

/** Refuse, before anything changes, an empty spec's plan that would destroy what the stack manages. */
export function assertApplicable(plan: Plan, opts: Pick<ApplyOptions, "allowEmpty"> = {}): void {
  if (plan.destroysEverything && opts.allowEmpty !== true)
    throw new PlanRefusedError(
      `the spec declares nothing, and this apply would destroy all ${plan.summary.destroy} items the stack manages; nothing was applied. Use --allow-empty if that is what you want.`,
    );
}

/** One item through its kind's create/update/destroy (a replace is a destroy, then a create). */
async function applyOne(
  kind: Kind,
  c: PlannedChange,
  base: KindContext,
  hooks: ApplyHooks | undefined,
): Promise<void> {
  const ctx: KindContext = {
    ...base,
    progress: (line) => (hooks?.onProgress ?? (() => base.progress(line)))(c, line),
    reveal: (line) => (hooks?.onReveal ?? (() => base.reveal(line)))(c, line),
  };
  if (c.action === "create") await kind.create(ctx, c.item!);
  else if (c.action === "update") await kind.update(ctx, c.item!, c.live!, c.fields);
  else if (c.action === "destroy") await kind.destroy(ctx, c.name, c.live!);
  else if (c.action === "replace") {
    await kind.destroy(ctx, c.name, c.live!);
    await kind.create(ctx, c.item!);
  }
}

function stepOf(c: PlannedChange): ApplyStep {
  if (c.action === "create") return { action: "create", item: c.item! };
  if (c.action === "update")
    return { action: "update", item: c.item!, live: c.live!, changes: c.fields };
  return { action: "destroy", name: c.name, live: c.live! };
}

/** Cut the ordered plan into units; consecutive batchable items of one kind and wave batch up. */
function unitsOf(placed: Placed[], registry: KindRegistry): Unit[] {
  const units: Unit[] = [];
  let open: { key: string; unit: Unit; size: number } | undefined;
  for (const p of placed) {
    const c = p.change;
    if (!FORWARD.has(c.action) && c.action !== "destroy") continue;
    const kind = registry.get(c.kind)!;
    const batchable = kind.applyBatch !== undefined && c.action !== "replace";
    if (!batchable) {
      open = undefined;
      units.push({ kind, changes: [c], batch: false, group: undefined });
      continue;
    }
    const key = `${c.kind}\u0000${c.action === "destroy" ? "destroy" : `fwd:${p.wave}`}`;
    const max = kind.batchSize ?? 64;
    if (open === undefined || open.key !== key || open.size >= max) {
      const unit: Unit = { kind, changes: [], batch: true, group: key };
      units.push(unit);
      open = { key, unit, size: 0 };
    }
    open.unit.changes.push(c);
    open.size++;
  }
  return units;
}

/** Run at most `n` at a time; the first failure is thrown once the others have settled. */
async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const t = items[next++]!;
      try {
        await fn(t);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failure !== undefined) throw failure;
}

function failedItem(unit: Unit): { kind: string; name: string; action: string } {
  const first = unit.changes[0]!;
  const others = unit.changes.length - 1;
  return {
    kind: first.kind,
    name: others > 0 ? `${first.name} (or one of the ${others} applied with it)` : first.name,
    action: first.action,
  };
}

/** The record that says the stack manages an item. */
export function ownership(item: SpecItem, stack: string, commit?: string): OwnershipInput {
  return {
    kind: item.kind,
    name: item.name,
    stack,
    ...(commit === undefined ? {} : { commit }),
    protect: item.protect ?? false,
    ...(item.drift === undefined ? {} : { drift: item.drift }),
    specHash: specHash(item),
  };
}

/**
 * Records that are missing or out of date for items that did not change (an item adopted as it
 * was, a `protect` added, a re-run after a failure), and records of items that are gone.
 */
async function housekeeping(
  plan: Plan,
  snapshot: Snapshot,
  stacks: StackClient,
  commit: string | undefined,
): Promise<void> {
  const put: OwnershipInput[] = [];
  for (const c of plan.changes) {
    if (c.action !== "no-op" || c.item === undefined) continue;
    const want = ownership(c.item, plan.settings.name, commit);
    const have = snapshot.records.get(itemKey(c.kind, c.name));
    if (
      have === undefined ||
      have.specHash !== want.specHash ||
      have.protect !== want.protect ||
      have.drift !== want.drift ||
      have.stack !== want.stack
    ) {
      // Drift left alone (`drift: off`) keeps its record as it was: its hash marks the spec
      // the live item was last made from.
      if (c.drift === true && have !== undefined) continue;
      put.push(want);
    }
  }
  if (put.length > 0 || plan.staleRecords.length > 0)
    await stacks.batch({ put, delete: plan.staleRecords });
}
