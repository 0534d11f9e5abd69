import { describe, expect, it } from "vitest";
import { PoolSpecSchema, type PoolRecord, type PoolSpec } from "../model/pool.js";
import { parseAddressPlan } from "./address-plan.js";
import { checkScale, poolSettingsHash, putPoolRecord, replanPools } from "./record.js";

const RAW = {
  pattern: "10.{location}.{type}.{instance}",
  locations: { a: 100 },
  types: { web: 6, db: 8 },
};
const plan = parseAddressPlan(RAW);
const spec = (over: Record<string, unknown> = {}): PoolSpec =>
  PoolSpecSchema.parse({ provider: "docker", size: 3, location: "a", type: "web", ...over });
const by = { who: "test", now: "2026-12-07T00:00:00.000Z" };

describe("poolSettingsHash", () => {
  const pattern = "10.100.6.{instance}";

  it("ignores key order, size, roles and repair settings", () => {
    const a = spec({ docker: { image: "node:1", memory: "1g" } });
    const b = spec({
      docker: { memory: "1g", image: "node:1" },
      size: 5,
      roles: ["web"],
      repairAfter: "5s",
    });
    expect(poolSettingsHash(a, pattern)).toBe(poolSettingsHash(b, pattern));
  });

  it("changes with the provider's settings and the address pattern", () => {
    const base = poolSettingsHash(spec(), pattern);
    expect(poolSettingsHash(spec({ docker: { image: "x" } }), pattern)).not.toBe(base);
    expect(poolSettingsHash(spec({ provider: "local" }), pattern)).not.toBe(base);
    expect(poolSettingsHash(spec(), "10.100.7.{instance}")).not.toBe(base);
  });
});

describe("putPoolRecord", () => {
  const first = putPoolRecord("web", spec({ max: 5 }), plan, undefined, [], by);

  it("keeps a hand-set size while the stack's size stays and the bounds allow it", () => {
    const scaled: PoolRecord = { ...first, scaledTo: 5, deletedAt: by.now };
    const same = putPoolRecord("web", spec({ max: 5 }), plan, scaled, [scaled], by);
    expect([same.scaledTo, same.deletedAt]).toEqual([5, undefined]);
    expect(putPoolRecord("web", spec({ size: 4, max: 5 }), plan, scaled, [], by).scaledTo).toBe(
      undefined,
    );
    expect(putPoolRecord("web", spec({ max: 4 }), plan, scaled, [], by).scaledTo).toBe(undefined);
  });

  it("names the new pool when it takes another's location and type", () => {
    expect(() => putPoolRecord("api", spec(), plan, undefined, [first], by)).toThrow(
      /^pools\.api\.type: pool web already has/,
    );
  });
});

describe("replanPools", () => {
  const web = putPoolRecord("web", spec(), plan, undefined, [], by);
  const db = putPoolRecord("db", spec({ type: "db" }), plan, undefined, [web], by);

  it("returns unchanged records as they were, moved ones with a new pattern and hash", () => {
    const next = parseAddressPlan({ ...RAW, types: { web: 7, db: 8 } });
    const [w, d] = replanPools(next, [web, db], by);
    expect(d).toBe(db);
    expect(w!.addressPattern).toBe("10.100.7.{instance}");
    expect(w!.settingsHash).not.toBe(web.settingsHash);
  });

  it("refuses a plan a pool no longer fits, naming it", () => {
    const next = parseAddressPlan({ ...RAW, types: { web: 6 } });
    expect(() => replanPools(next, [web, db], by)).toThrow(/^pools\.db\.type: unknown type "db"/);
  });
});

describe("checkScale", () => {
  it.each([
    [{ size: 3 }, 4, /pools\.web\.max is not set, so web scales only to its size 3/],
    [{ size: 3, max: 5 }, 6, /^pools\.web\.max is 5: raise it in gantry\.yaml/],
    [{ size: 3, min: 2 }, 1, /^pools\.web\.min is 2: lower it in gantry\.yaml/],
  ])("refuses %o → %d", (over, size, message) => {
    expect(() => checkScale("web", spec(over), size)).toThrow(message);
  });

  it("allows min..max", () => {
    for (const n of [2, 3, 4, 5]) checkScale("web", spec({ min: 2, max: 5 }), n);
  });
});
