import { describe, expect, it } from "vitest";
import { PlanRecordSchema } from "../model/stack.js";
import { DEFAULT_SETTINGS } from "./load.js";
import type { Plan, PlannedChange } from "./plan.js";
import { planRecord } from "./plan-record.js";

const change = (name: string, extra: Partial<PlannedChange> = {}): PlannedChange => ({
  kind: "kv",
  name,
  action: "update",
  fields: [{ path: "", old: "1", new: "2" }],
  ...extra,
});

const planOf = (changes: PlannedChange[]): Plan => ({
  settings: DEFAULT_SETTINGS,
  changes,
  summary: { create: 1, update: changes.length - 1, replace: 0, destroy: 0, orphan: 0 },
  destroysEverything: false,
  staleRecords: [],
});

describe("planRecord", () => {
  it("keeps changed items with their fields as text, never a sensitive value", () => {
    const rec = planRecord(
      planOf([
        change("app/port"),
        change("same", { action: "no-op", fields: [] }),
        change("web", {
          kind: "app",
          action: "create",
          fields: [
            { path: "env.TOKEN", new: "hunter2", sensitive: true },
            { path: "scale", new: { web: 2 } },
          ],
        }),
      ]),
    );
    expect(PlanRecordSchema.parse(rec)).toEqual(rec);
    expect(rec.changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual([
      "update kv/app/port",
      "create app/web",
    ]);
    expect(rec.changes[0]!.fields).toEqual([{ path: "", old: '"1"', new: '"2"' }]);
    expect(rec.changes[1]!.fields).toEqual([
      { path: "env.TOKEN", sensitive: true },
      { path: "scale", new: '{"web":2}' },
    ]);
    expect(JSON.stringify(rec)).not.toContain("hunter2");
  });

  it("stays under its byte budget, counting what it left out", () => {
    const many = Array.from({ length: 500 }, (_, i) =>
      change(`key-${i}`, { fields: [{ path: "", old: "x".repeat(150), new: "y".repeat(150) }] }),
    );
    const rec = planRecord(planOf(many), 20_000);
    expect(JSON.stringify(rec).length).toBeLessThanOrEqual(20_000);
    expect(rec.changes.length).toBeGreaterThan(10);
    expect(rec.changes.length + (rec.moreChanges ?? 0)).toBe(500);
    expect(rec.summary.update).toBe(499);
  });
});
