import { describe, expect, it } from "vitest";
import type { DriftMode, OwnershipRecord } from "../model/stack.js";
import { specHash } from "./hash.js";
import type { FieldChange, SpecItem } from "./kind.js";
import { DEFAULT_SETTINGS } from "./load.js";
import { plan } from "./plan.js";
import { planJson, planText } from "./render.js";
import { liveItem, testRegistry } from "./test-kinds.js";

const item: SpecItem = {
  kind: "thing",
  name: "t",
  spec: { size: 1, zone: "a", uses: [] },
  at: "x:1",
};
const waits: FieldChange = { path: "joined", old: false, new: "waits for t to join", info: true };

const planWith = (fields: FieldChange[], records: OwnershipRecord[] = [], drift?: DriftMode) =>
  plan({
    settings: { ...DEFAULT_SETTINGS, ...(drift === undefined ? {} : { drift }) },
    items: [item],
    live: new Map([["thing", new Map([["t", liveItem("t", item.spec as never)]])]]),
    records: new Map(records.map((r) => [`${r.kind}/${r.name}`, r])),
    diffs: new Map([["thing/t", fields]]),
    prefixes: new Map(),
    registry: testRegistry(),
  });

describe("info fields (FieldChange.info)", () => {
  it("make no change by themselves: the item is a no-op, shown with them, left out of --json", () => {
    const p = planWith([waits]);
    expect(p.changes[0]).toMatchObject({ action: "no-op", fields: [waits] });
    expect(p.summary.update).toBe(0);
    expect(planJson(p).changes).toEqual([]);
    const text = planText(p);
    expect(text).toContain("    thing t  (nothing to apply)");
    expect(text).toContain('      joined: false → "waits for t to join" (not applied)');
    expect(text.at(-1)).toBe("No changes: the platform matches the spec.");
  });

  it("ride along with real changes, marked as not applied", () => {
    const p = planWith([{ path: "size", old: 1, new: 2 }, waits]);
    expect(p.changes[0]!.action).toBe("update");
    expect(p.summary.update).toBe(1);
    expect(planText(p)).toContain('      joined: false → "waits for t to join" (not applied)');
  });
});

describe("changes from files (FieldChange.fromFiles)", () => {
  // Applied before from this very spec: a difference now is a hand edit, unless a file changed.
  const applied: OwnershipRecord = {
    kind: "thing",
    name: "t",
    stack: "default",
    protect: false,
    specHash: specHash(item),
    appliedAt: "2026-01-01T00:00:00Z",
    appliedBy: "admin",
  };

  it("are never drift, so drift: off does not hold them back", () => {
    const hand = planWith([{ path: "size", old: 1, new: 2 }], [applied], "off");
    expect(hand.changes[0]).toMatchObject({ action: "no-op", drift: true, note: "drift: off" });
    const files = planWith(
      [{ path: "source", old: "a", new: "b", fromFiles: true }],
      [applied],
      "off",
    );
    expect(files.changes[0]).toMatchObject({ action: "update" });
    expect(files.changes[0]!.drift).toBeUndefined();
  });
});
