import { describe, expect, it } from "vitest";
import type { OwnershipRecord } from "../model/stack.js";
import { PlanRefusedError } from "./errors.js";
import { specHash } from "./hash.js";
import type { FieldChange, LiveItem, SpecItem } from "./kind.js";
import { DEFAULT_SETTINGS, type StackSettings } from "./load.js";
import { plan, type Plan } from "./plan.js";
import { planJson, planText } from "./render.js";
import { liveItem, testRegistry, thingKind, type Thing } from "./test-kinds.js";

const registry = testRegistry();

const thing = (
  name: string,
  spec: Partial<Thing> = {},
  extra: Partial<Omit<SpecItem, "spec">> = {},
): SpecItem<Thing> => ({
  kind: "thing",
  name,
  at: "gantry.yaml:1",
  ...extra,
  spec: { size: 1, zone: "a", uses: [], ...spec },
});

const record = (
  item: { kind: string; name: string },
  extra: Partial<OwnershipRecord> = {},
): OwnershipRecord => ({
  kind: item.kind,
  name: item.name,
  stack: "default",
  protect: false,
  specHash: "old",
  appliedAt: "2026-01-01T00:00:00Z",
  appliedBy: "admin",
  ...extra,
});

/** Plan `items` against live things (name → value) and records, with the test kind's diff. */
function planOf(
  items: SpecItem[],
  liveThings: Record<string, Thing> = {},
  records: OwnershipRecord[] = [],
  settings: Partial<StackSettings> = {},
  prefixes: Record<string, string[]> = {},
): Plan {
  const live = new Map<string, LiveItem>(
    Object.entries(liveThings).map(([n, v]) => [n, liveItem(n, v)]),
  );
  const diffs = new Map<string, FieldChange[]>();
  for (const i of items)
    diffs.set(
      `${i.kind}/${i.name}`,
      thingKind.diff(
        i as SpecItem<Thing>,
        live.get(i.name) as LiveItem<Thing>,
        undefined as never,
      ) as FieldChange[],
    );
  return plan({
    settings: { ...DEFAULT_SETTINGS, ...settings },
    items,
    live: new Map([["thing", live]]),
    records: new Map(records.map((r) => [`${r.kind}/${r.name}`, r])),
    diffs,
    prefixes: new Map(Object.entries(prefixes)),
    registry,
  });
}

const verbs = (p: Plan): string[] => p.changes.map((c) => `${c.action} ${c.name}`);
const L = (spec: Partial<Thing> = {}): Thing => ({ size: 1, zone: "a", uses: [], ...spec });

describe("the planner", () => {
  it("creates what is not live, updates what differs, leaves the rest", () => {
    const p = planOf([thing("new"), thing("big", { size: 3 }), thing("same")], {
      big: L(),
      same: L(),
    });
    expect(verbs(p)).toEqual(["create new", "update big", "no-op same"]);
    expect(p.changes[1]!.fields).toEqual([{ path: "size", old: 1, new: 3 }]);
    expect(p.summary).toEqual({ create: 1, update: 1, replace: 0, destroy: 0, orphan: 0 });
  });

  it("replaces an item when a changed field cannot change in place", () => {
    const p = planOf([thing("web", { zone: "b" })], { web: L() });
    expect(verbs(p)).toEqual(["replace web"]);
    expect(p.summary.replace).toBe(1);
  });

  it("orphans owned items gone from the spec, and destroys them only with prune", () => {
    const gone = { kind: "thing", name: "old" };
    const kept = planOf([], { old: L() }, [record(gone)]);
    expect(verbs(kept)).toEqual(["orphan old"]);
    expect(kept.summary.orphan).toBe(1);
    const pruned = planOf([thing("web")], { old: L(), web: L() }, [record(gone)], { prune: true });
    expect(verbs(pruned)).toEqual(["no-op web", "destroy old"]);
  });

  it("never destroys a protected item, even with prune and its spec block gone", () => {
    const p = planOf(
      [thing("web")],
      { vault: L(), web: L() },
      [record({ kind: "thing", name: "vault" }, { protect: true })],
      {
        prune: true,
      },
    );
    expect(verbs(p)).toEqual(["no-op web", "orphan vault"]);
    expect(p.changes[1]!.note).toBe("protected");
  });

  it("refuses to replace a protected item", () => {
    expect(() => planOf([thing("web", { zone: "b" }, { protect: true })], { web: L() })).toThrow(
      PlanRefusedError,
    );
  });

  it("leaves live items it does not own alone, except under an owned prefix", () => {
    const p = planOf(
      [],
      { stranger: L(), "svc/extra": L() },
      [],
      { prune: true },
      { thing: ["svc/"] },
    );
    expect(verbs(p)).toEqual(["destroy svc/extra"]);
    expect(p.changes[0]!.note).toBe("under thingPrefixes");
  });

  it("drops records of items gone from both the spec and the platform", () => {
    const p = planOf([], {}, [record({ kind: "thing", name: "ghost" })]);
    expect(p.changes).toEqual([]);
    expect(p.staleRecords).toEqual([{ kind: "thing", name: "ghost" }]);
    const foreign = planOf([], {}, [record({ kind: "pool", name: "p1" })]);
    expect(foreign.staleRecords).toEqual([]);
  });

  it("marks a difference on an unchanged spec as drift, and ignores it with drift: off", () => {
    const web = thing("web", { size: 2 });
    const rec = record(web, { specHash: specHash(web) });
    const warn = planOf([web], { web: L({ size: 5 }) }, [rec]);
    expect(warn.changes[0]).toMatchObject({ action: "update", drift: true });
    const off = planOf([thing("web", { size: 2 }, { drift: "off" })], { web: L({ size: 5 }) }, [
      record(web, { specHash: specHash({ ...web, drift: "off" }) }),
    ]);
    expect(off.changes[0]).toMatchObject({ action: "no-op", drift: true });
    // A changed spec is not drift, whatever the mode: it is applied.
    const changed = planOf([thing("web", { size: 3 }, { drift: "off" })], { web: L({ size: 5 }) }, [
      rec,
    ]);
    expect(changed.changes[0]).toMatchObject({ action: "update" });
    expect(changed.changes[0]!.drift).toBeUndefined();
  });

  it("flags an empty spec whose apply would destroy what the stack manages", () => {
    const recs = [record({ kind: "thing", name: "a" }), record({ kind: "thing", name: "b" })];
    expect(planOf([], { a: L(), b: L() }, recs, { prune: true }).destroysEverything).toBe(true);
    // A protected item left over does not make wiping the rest any less of a surprise.
    const guarded = [...recs, record({ kind: "thing", name: "c" }, { protect: true })];
    expect(
      planOf([], { a: L(), b: L(), c: L() }, guarded, { prune: true }).destroysEverything,
    ).toBe(true);
    expect(planOf([thing("c")], { a: L(), b: L() }, recs, { prune: true }).destroysEverything).toBe(
      false,
    );
    expect(planOf([], { a: L(), b: L() }, recs).destroysEverything).toBe(false);
  });

  it("orders by rank, then references; destroys last, highest rank first", () => {
    const items: SpecItem[] = [
      thing("app", { uses: ["thing:db"] }),
      thing("db", { uses: ["net"] }),
      { kind: "base", name: "net", spec: { cidr: "10/8" }, at: "gantry.yaml:9" },
    ];
    const p = plan({
      settings: { ...DEFAULT_SETTINGS, prune: true },
      items,
      live: new Map([["thing", new Map([["old", liveItem("old", L())]])]]),
      records: new Map([["thing/old", record({ kind: "thing", name: "old" })]]),
      diffs: new Map(items.map((i) => [`${i.kind}/${i.name}`, [{ path: "x", new: 1 }]])),
      prefixes: new Map(),
      registry,
    });
    expect(p.changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual([
      "create base/net",
      "create thing/db",
      "create thing/app",
      "destroy thing/old",
    ]);
  });

  it("prints sensitive values as (sensitive), in text and in JSON", () => {
    const p = planOf([thing("web", { secret: "hunter2" })], { web: L({ secret: "old-pw" }) });
    const json = planJson(p);
    expect(json).toEqual({
      changes: [
        {
          kind: "thing",
          name: "web",
          action: "update",
          fields: [{ path: "secret", old: "(sensitive)", new: "(sensitive)" }],
        },
      ],
      summary: { create: 0, update: 1, replace: 0, destroy: 0, orphan: 0 },
    });
    const text = planText(p).join("\n");
    expect(text).not.toContain("hunter2");
    expect(text).toContain("secret: (sensitive) → (sensitive)");
    expect(text).toContain("Plan: 0 to create, 1 to update, 0 to destroy, 0 orphaned");
  });

  it("says so when nothing changes", () => {
    expect(planText(planOf([thing("web")], { web: L() }))).toEqual([
      "No changes: the platform matches the spec.",
    ]);
  });
});
