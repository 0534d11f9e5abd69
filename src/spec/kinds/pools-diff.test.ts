/** The pool and address-plan kinds' diffs: field by field, node settings as a rolling change. */
import { describe, expect, it } from "vitest";
import { PoolSpecSchema, type PoolSpec, type PoolStatus, type PoolView } from "../../model/pool.js";
import type { SpecItem } from "../kind.js";
import { plan } from "../plan.js";
import { KindRegistry } from "../registry.js";
import { planText } from "../render.js";
import { DEFAULT_SETTINGS } from "../load.js";
import { addressPlanKind, type AddressPlanSpec } from "./address-plan.js";
import { diffPool } from "./pools-diff.js";
import { poolKind } from "./pools.js";

const spec = (over: Record<string, unknown> = {}): PoolSpec =>
  PoolSpecSchema.parse({
    provider: "local",
    size: 3,
    location: "nz-por-1",
    type: "web",
    roles: ["web"],
    ...over,
  });

const view = (s: PoolSpec, over: Partial<PoolView> = {}): PoolView => ({
  name: "web",
  spec: s,
  addressPattern: "10.100.6.{instance}",
  settingsHash: "h1",
  updatedAt: "2026-12-07T00:00:00Z",
  updatedBy: "alice",
  ...over,
});

const status = (ready: number, desired: number, extra: Partial<PoolStatus> = {}): PoolStatus => ({
  name: "web",
  desired,
  ready,
  joining: 0,
  repairing: 0,
  unhealthy: 0,
  nodes: Array.from({ length: desired }, (_, i) => ({
    name: `web-${i + 1}`,
    instance: i + 1,
    address: `10.100.6.${i + 1}`,
    phase: i < ready ? ("ready" as const) : ("joining" as const),
  })),
  updatedAt: "2026-12-07T00:00:00Z",
  ...extra,
});

/** The plan text of one pool item against this live view. */
function planned(s: PoolSpec, live: PoolView): string[] {
  const item: SpecItem = { kind: "pool", name: "web", spec: s, at: "gantry.yaml:6" };
  const registry = new KindRegistry([addressPlanKind, poolKind] as never[]);
  const p = plan({
    settings: DEFAULT_SETTINGS,
    items: [item],
    live: new Map([["pool", new Map([["web", { name: "web", value: live, revisions: {} }]])]]),
    records: new Map(),
    diffs: new Map([["pool/web", diffPool("web", s, live)]]),
    prefixes: new Map(),
    registry,
  });
  return planText(p);
}

describe("the pool kind's diff", () => {
  it("shows a new pool's settings, leaving out empty lists and maps", () => {
    const fields = diffPool("web", spec({ labels: { tier: "front" } }), undefined);
    expect(fields.map((f) => f.path)).toEqual([
      "labels.tier",
      "location",
      "maxUnhealthy",
      "provider",
      "repairAfter",
      "roles",
      "size",
      "startTimeout",
      "type",
    ]);
  });

  it("is empty for the pool as the server keeps it (defaults filled in)", () => {
    expect(diffPool("web", spec(), view(spec()))).toEqual([]);
  });

  it("compares in-place fields one by one: size, roles whole, vars and labels by name", () => {
    const live = view(spec({ vars: { workers: 2, keep: 1 }, labels: { tier: "front" } }));
    const next = spec({
      size: 4,
      max: 6,
      roles: ["web", "edge"],
      vars: { workers: 4, keep: 1 },
      labels: {},
      repairAfter: "2m",
      maxUnhealthy: 1,
    });
    expect(diffPool("web", next, live)).toEqual([
      { path: "roles", old: ["web"], new: ["web", "edge"] },
      { path: "size", old: 3, new: 4 },
      { path: "max", new: 6 },
      { path: "vars.workers", old: 2, new: 4 },
      { path: "labels.tier", old: "front" },
      { path: "repairAfter", old: "60s", new: "2m" },
      { path: "maxUnhealthy", old: "40%", new: 1 },
    ]);
  });

  it("shows node settings as ordinary changes, noting that the nodes are replaced one at a time", () => {
    const live = view(spec(), { status: status(3, 3) });
    const next = spec({ provider: "docker", docker: { image: "gantry-node:2" } });
    const fields = diffPool("web", next, live);
    expect(fields).toEqual([
      { path: "provider", old: "local", new: "docker" },
      { path: "docker", new: { image: "gantry-node:2" } },
      { path: "rolling", new: "replaces 3 nodes one at a time (new node settings)", info: true },
      { path: "status", new: "3 of 3 ready", info: true },
    ]);
    expect(fields.some((f) => f.forcesReplace === true)).toBe(false);
    expect(planned(next, live)).toEqual([
      "  ~ pool web",
      '      provider: "local" → "docker"',
      '      docker: {"image":"gantry-node:2"}',
      '      rolling: "replaces 3 nodes one at a time (new node settings)" (not applied)',
      '      status: "3 of 3 ready" (not applied)',
      "",
      "Plan: 0 to create, 1 to update, 0 to destroy, 0 orphaned",
    ]);
  });

  it("counts a new ssh host list as a rolling change, and a new location too", () => {
    const hosts = (h: string[]) => spec({ provider: "ssh", ssh: { hosts: h } });
    const fields = diffPool("web", hosts(["a", "c", "b"]), view(hosts(["a", "b", "c"])));
    expect(fields.map((f) => f.path)).toEqual(["ssh.hosts[1]", "ssh.hosts[2]", "rolling"]);
    expect(diffPool("web", spec({ location: "nz-akl-1" }), view(spec())).at(-1)).toMatchObject({
      path: "rolling",
      info: true,
    });
  });

  it("keeps a size set by hand while the spec's size is unchanged: info, no change", () => {
    const s = spec({ min: 1, max: 6 });
    const live = view(s, { scaledTo: 5 });
    expect(diffPool("web", s, live)).toEqual([
      {
        path: "scaledTo",
        new: "scaled by hand to 5; apply keeps it until size changes",
        info: true,
      },
    ]);
    expect(planned(s, live)).toEqual([
      "    pool web  (nothing to apply)",
      '      scaledTo: "scaled by hand to 5; apply keeps it until size changes" (not applied)',
      "",
      "No changes: the platform matches the spec.",
    ]);
    // A new size replaces the hand-set one: an ordinary change.
    expect(diffPool("web", spec({ min: 1, max: 6, size: 4 }), live)).toEqual([
      { path: "size", old: 3, new: 4 },
    ]);
  });

  it("shows a hand-set size the new bounds leave out as going back to the spec's size", () => {
    const live = view(spec({ min: 1, max: 6 }), { scaledTo: 1 });
    expect(diffPool("web", spec(), live)).toEqual([
      { path: "min", old: 1 },
      { path: "max", old: 6 },
      { path: "scaledTo", old: 1, new: "back to size 3 (1 is outside min 3, max 3)" },
    ]);
  });

  it("shows the live status when the pool is short of its size, even with nothing to change", () => {
    expect(diffPool("web", spec(), view(spec(), { status: status(1, 3) }))).toEqual([
      { path: "status", new: "1 of 3 ready", info: true },
    ]);
    expect(diffPool("web", spec(), view(spec(), { status: status(3, 3) }))).toEqual([]);
  });

  it("puts back a pool being removed", () => {
    const live = view(spec(), { deletedAt: "2026-12-07T10:00:00Z" });
    expect(diffPool("web", spec(), live)).toEqual([
      { path: "removing", old: "being removed since 2026-12-07T10:00:00Z", new: "kept" },
    ]);
  });
});

describe("the address-plan kind's diff", () => {
  const p = (over: Partial<AddressPlanSpec> = {}): AddressPlanSpec => ({
    pattern: "10.{location}.{type}.{instance}",
    locations: { "nz-por-1": 100 },
    types: { web: 6 },
    ...over,
  });
  const live = (s: AddressPlanSpec) => ({ name: "addressPlan", value: s, revisions: {} });
  const item = (s: AddressPlanSpec): SpecItem<AddressPlanSpec> => ({
    kind: "address-plan",
    name: "addressPlan",
    spec: s,
    at: "gantry.yaml:1",
  });
  const ctx = {} as never;

  it("compares pattern, locations.X and types.X one by one", async () => {
    expect(await addressPlanKind.diff(item(p()), live(p()), ctx)).toEqual([]);
    const next = p({ types: { web: 7, db: 8 }, locations: { "nz-por-1": 100, "nz-akl-1": 101 } });
    expect(await addressPlanKind.diff(item(next), live(p()), ctx)).toEqual([
      { path: "locations.nz-akl-1", new: 101 },
      { path: "types.db", new: 8 },
      { path: "types.web", old: 6, new: 7 },
    ]);
  });

  it("shows a new plan's every entry", async () => {
    expect(await addressPlanKind.diff(item(p()), undefined, ctx)).toEqual([
      { path: "locations.nz-por-1", new: 100 },
      { path: "pattern", new: "10.{location}.{type}.{instance}" },
      { path: "types.web", new: 6 },
    ]);
  });
});
