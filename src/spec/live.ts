import { StackClient } from "../client/stack.js";
import type { OwnershipRecord } from "../model/stack.js";
import { itemKey } from "./check.js";
import type { FieldChange, KindContext, LiveItem, SpecItem } from "./kind.js";
import type { LoadedStack } from "./load.js";
import { plan, type Plan } from "./plan.js";
import type { KindRegistry } from "./registry.js";

/** What the planner reads from the platform: live items by kind, and the ownership records. */
export interface Snapshot {
  live: Map<string, Map<string, LiveItem>>;
  records: Map<string, OwnershipRecord>;
}

/** The part of a stack the engine plans from (a loaded folder, or a saved plan's copy of one). */
export type PlanSource = Pick<LoadedStack, "settings" | "items" | "prefixes">;

/** Read the ownership records, then every kind's live items in parallel (one read per kind). */
export async function readSnapshot(
  ctx: KindContext,
  registry: KindRegistry,
  stack: PlanSource,
): Promise<Snapshot> {
  const { items } = await new StackClient(ctx.client).items();
  const records = new Map(items.map((r) => [itemKey(r.kind, r.name), r]));
  const names = new Map<string, Set<string>>();
  const add = (kind: string, name: string): void => {
    let set = names.get(kind);
    if (set === undefined) names.set(kind, (set = new Set()));
    set.add(name);
  };
  for (const i of stack.items) add(i.kind, i.name);
  for (const r of records.values()) add(r.kind, r.name);
  const live = new Map<string, Map<string, LiveItem>>();
  await Promise.all(
    registry.all().map(async (kind) => {
      const wanted = [...(names.get(kind.name) ?? [])];
      const prefixes = [...(stack.prefixes.get(kind.name) ?? [])];
      if (wanted.length === 0 && prefixes.length === 0) return;
      live.set(kind.name, await kind.read(ctx, wanted, prefixes.length > 0 ? { prefixes } : {}));
    }),
  );
  return { live, records };
}

/** Each spec item's field changes, from its kind's `diff`. */
export async function diffAll(
  ctx: KindContext,
  registry: KindRegistry,
  items: readonly SpecItem[],
  live: Snapshot["live"],
): Promise<Map<string, FieldChange[]>> {
  const diffs = new Map<string, FieldChange[]>();
  await Promise.all(
    items.map(async (item) => {
      const kind = registry.get(item.kind)!;
      diffs.set(
        itemKey(item.kind, item.name),
        await kind.diff(item, live.get(item.kind)?.get(item.name), ctx),
      );
    }),
  );
  return diffs;
}

/** Read the platform and plan: the I/O shell around the pure `plan`. */
export async function planStack(
  ctx: KindContext,
  registry: KindRegistry,
  stack: PlanSource,
): Promise<{ plan: Plan; snapshot: Snapshot }> {
  const snapshot = await readSnapshot(ctx, registry, stack);
  const diffs = await diffAll(ctx, registry, stack.items, snapshot.live);
  return {
    snapshot,
    plan: plan({
      settings: stack.settings,
      items: stack.items,
      live: snapshot.live,
      records: snapshot.records,
      diffs,
      prefixes: stack.prefixes,
      registry,
    }),
  };
}
