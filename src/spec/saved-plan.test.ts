import { describe, expect, it } from "vitest";
import type { OwnershipRecord } from "../model/stack.js";
import { StalePlanError } from "./errors.js";
import type { FieldChange, LiveItem, SpecItem } from "./kind.js";
import type { Snapshot } from "./live.js";
import { DEFAULT_SETTINGS } from "./load.js";
import { plan, type Plan } from "./plan.js";
import { assertFresh, readSavedPlan, savedSource, savePlan } from "./saved-plan.js";
import { liveItem, testRegistry, thingKind, type Thing } from "./test-kinds.js";

const registry = testRegistry();
const L = (size = 1): Thing => ({ size, zone: "a", uses: [] });
const items: SpecItem[] = [
  { kind: "thing", name: "web", spec: L(2), at: "gantry.yaml:2" },
  { kind: "thing", name: "api", spec: L(1), at: "gantry.yaml:3", protect: true },
];
const source = { dir: "/stack", settings: DEFAULT_SETTINGS, items, prefixes: new Map() };
const rec: OwnershipRecord = {
  kind: "thing",
  name: "api",
  stack: "default",
  protect: true,
  specHash: "h",
  appliedAt: "t",
  appliedBy: "admin",
  modRevision: 7,
};

function snapshot(live: Record<string, [Thing, number]>, records = [rec]): Snapshot {
  return {
    live: new Map([
      ["thing", new Map(Object.entries(live).map(([n, [v, r]]) => [n, liveItem(n, v, r)]))],
    ]),
    records: new Map(records.map((r) => [`${r.kind}/${r.name}`, r])),
  };
}

function planFor(snap: Snapshot, specItems = items): Plan {
  const diffs = new Map<string, FieldChange[]>();
  for (const i of specItems) {
    const live = snap.live.get("thing")?.get(i.name) as LiveItem<Thing> | undefined;
    diffs.set(
      `thing/${i.name}`,
      thingKind.diff(i as SpecItem<Thing>, live, undefined as never) as FieldChange[],
    );
  }
  return plan({
    settings: DEFAULT_SETTINGS,
    items: specItems,
    live: snap.live,
    records: snap.records,
    diffs,
    prefixes: new Map(),
    registry,
  });
}

/** A plan saved from `then`, written to text and read back, checked against `now`. */
function check(then: Snapshot, now: Snapshot): void {
  const text = JSON.stringify(savePlan(source, then, planFor(then)));
  const saved = readSavedPlan(text, "tonight.plan");
  const again = savedSource(saved);
  assertFresh(saved, now, planFor(now, again.items));
}

const stale = (then: Snapshot, now: Snapshot): string => {
  try {
    check(then, now);
  } catch (err) {
    if (err instanceof StalePlanError) return err.message;
    throw err;
  }
  return "fresh";
};

describe("saved plans", () => {
  const base = snapshot({ web: [L(1), 10], api: [L(1), 11] });

  it("round-trip through a file, with the spec, and apply when nothing moved", () => {
    expect(stale(base, snapshot({ web: [L(1), 10], api: [L(1), 11] }))).toBe("fresh");
    const saved = readSavedPlan(JSON.stringify(savePlan(source, base, planFor(base))), "f");
    expect(savedSource(saved).items.map((i) => [i.name, i.spec, i.protect])).toEqual([
      ["web", L(2), undefined],
      ["api", L(1), true],
    ]);
    expect(saved.plan.summary.update).toBe(1);
  });

  it("are stale when an item they read moved, naming it", () => {
    expect(stale(base, snapshot({ web: [L(1), 12], api: [L(1), 11] }))).toMatch(
      /^the saved plan is stale: thing web changed since it was made; nothing was applied/,
    );
  });

  it("are stale when an item appeared or went away", () => {
    expect(stale(base, snapshot({ api: [L(1), 11] }))).toContain("thing web (deleted)");
    const none = snapshot({ api: [L(1), 11] });
    expect(stale(none, base)).toContain("thing web (created)");
  });

  it("are stale when an ownership record moved or was forgotten", () => {
    expect(
      stale(base, snapshot({ web: [L(1), 10], api: [L(1), 11] }, [{ ...rec, modRevision: 9 }])),
    ).toContain("the stack's record of thing api");
    expect(stale(base, snapshot({ web: [L(1), 10], api: [L(1), 11] }, []))).toContain(
      "(forgotten)",
    );
  });

  it("refuse a file that is not a saved plan, clearly", () => {
    expect(() => readSavedPlan("stack: {}", "gantry.yaml")).toThrow(
      /gantry\.yaml is not a saved plan/,
    );
    expect(() => readSavedPlan('{"format":"other"}', "x.json")).toThrow(/gantry plan --out/);
  });
});
