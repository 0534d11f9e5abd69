import { describe, expect, it } from "vitest";
import type { LoadedStack } from "../spec/load.js";
import type { Plan, PlannedChange } from "../spec/plan.js";
import { driftOf } from "./engine.js";

const stack = (drift: "correct" | "warn" | "off"): LoadedStack => ({
  dir: "/s",
  file: "gantry.yaml",
  settings: { name: "demo", drift, prune: false },
  items: [],
  prefixes: new Map(),
});

const planOf = (changes: PlannedChange[]): Plan => ({
  settings: stack("warn").settings,
  changes,
  summary: { create: 0, update: 0, replace: 0, destroy: 0, orphan: 0 },
  destroysEverything: false,
  staleRecords: [],
});

const item = (kind: string, name: string, drift?: "correct" | "warn" | "off") => ({
  kind,
  name,
  spec: {},
  at: "gantry.yaml:1",
  ...(drift === undefined ? {} : { drift }),
});

describe("driftOf", () => {
  it("lists drifted items with their fields and mode (the item's own, else the stack's)", () => {
    const plan = planOf([
      {
        kind: "kv",
        name: "a",
        action: "update",
        drift: true,
        item: item("kv", "a"),
        fields: [{ path: "", old: "1", new: "2" }],
      },
      {
        kind: "kv",
        name: "b",
        action: "update",
        drift: true,
        item: item("kv", "b", "warn"),
        fields: [{ path: "value" }],
      },
      // a spec change is not drift
      {
        kind: "kv",
        name: "c",
        action: "update",
        item: item("kv", "c"),
        fields: [{ path: "value" }],
      },
      { kind: "kv", name: "d", action: "no-op", item: item("kv", "d"), fields: [] },
    ]);
    expect(driftOf(plan, stack("correct"))).toEqual([
      { kind: "kv", name: "a", fields: ["(value)"], mode: "correct" },
      { kind: "kv", name: "b", fields: ["value"], mode: "warn" },
    ]);
  });

  it("leaves out items in mode off, and shows a pinned app as pinned without its info fields", () => {
    const plan = planOf([
      {
        kind: "kv",
        name: "quiet",
        action: "no-op",
        drift: true,
        item: item("kv", "quiet", "off"),
        fields: [],
        note: "drift: off",
      },
      {
        kind: "app",
        name: "web",
        action: "no-op",
        item: item("app", "web"),
        fields: [{ path: "release", old: "pinned to v3 by a rollback", info: true }],
      },
    ]);
    expect(driftOf(plan, stack("correct"))).toEqual([
      { kind: "app", name: "web", fields: [], mode: "correct", pinned: true },
    ]);
  });
});
