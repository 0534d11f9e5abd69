import { StackClient } from "../client/stack.js";
import type { OwnershipRecord } from "../model/stack.js";
import { itemKey } from "./check.js";
import type { FieldChange, Kind, KindContext, LiveItem, SpecItem } from "./kind.js";
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

/** The ownership records as `StackClient.items` answers them. */
export type RecordsRead = Promise<{ items: OwnershipRecord[] }>;

/**
 * Read the ownership records and every kind's live items, all in parallel (one read per kind);
 * a kind whose records name items the spec does not (orphans to be) is read again with them.
 * `records`: a read of the records already under way (plan starts it while the spec loads).
 */
export async function readSnapshot(
  ctx: KindContext,
  registry: KindRegistry,
  stack: PlanSource,
  records?: RecordsRead,
): Promise<Snapshot> {
  const specNames = namesByKind(stack.items);
  const live = new Map<string, Map<string, LiveItem>>();
  const readKind = async (kind: Kind, names: Set<string> | undefined): Promise<void> => {
    const wanted = [...(names ?? [])];
    const prefixes = [...(stack.prefixes.get(kind.name) ?? [])];
    if (wanted.length === 0 && prefixes.length === 0) return;
    live.set(kind.name, await kind.read(ctx, wanted, prefixes.length > 0 ? { prefixes } : {}));
  };
  const [{ items }] = await Promise.all([
    records ?? new StackClient(ctx.client).items(),
    ...registry.all().map((kind) => readKind(kind, specNames.get(kind.name))),
  ]);
  const byKey = new Map(items.map((r) => [itemKey(r.kind, r.name), r]));
  const more = namesByKind([...byKey.values()].filter((r) => !specNames.get(r.kind)?.has(r.name)));
  await Promise.all(
    [...more].map(([kind, names]) => {
      const k = registry.get(kind);
      return k === undefined
        ? undefined
        : readKind(k, new Set([...(specNames.get(kind) ?? []), ...names]));
    }),
  );
  return { live, records: byKey };
}

function namesByKind(items: readonly { kind: string; name: string }[]): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  for (const i of items) {
    let set = names.get(i.kind);
    if (set === undefined) names.set(i.kind, (set = new Set()));
    set.add(i.name);
  }
  return names;
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
  records?: RecordsRead,
): Promise<{ plan: Plan; snapshot: Snapshot }> {
  const snapshot = await readSnapshot(ctx, registry, stack, records);
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
