import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import {
  addressFromPattern,
  checkPoolPlacements,
  instanceRange,
  loopbackTwin,
  lowestFreeInstance,
  nodeAddress,
  parseAddressPlan,
  poolAddressPattern,
  type AddressPlan,
} from "./address-plan.js";

const ISSUE_PLAN = {
  pattern: "10.{location}.{type}.{instance}",
  locations: { "nz-por-1": 100 },
  types: { web: 6, db: 8 },
};

/** The ValidationError `fn` throws (fails the test when it throws none or another kind). */
function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error("expected a ValidationError, nothing was thrown");
}

describe("parseAddressPlan", () => {
  it("reads the issue's plan: four parts, maps kept", () => {
    const plan = parseAddressPlan(ISSUE_PLAN);
    expect(plan.parts).toEqual([
      { fixed: 10 },
      { placeholder: "location" },
      { placeholder: "type" },
      { placeholder: "instance" },
    ]);
    expect(plan.types).toEqual({ web: 6, db: 8 });
  });

  it.each([
    ["10.0.{type}.{instance}", { types: { web: 1 } }, "10.0.1.7"],
    ["10.{instance}.{location}.{type}", { locations: { a: 3 }, types: { web: 9 } }, "10.7.3.9"],
    ["192.168.0.{instance}", {}, "192.168.0.7"],
  ])("accepts %s", (pattern, maps, address) => {
    const plan = parseAddressPlan({ pattern, ...maps });
    const slot = {
      instance: 7,
      ...("locations" in maps ? { location: "a" } : {}),
      ...("types" in maps ? { type: "web" } : {}),
    };
    expect(nodeAddress(plan, slot)).toBe(address);
  });

  it.each([
    [
      "three parts",
      { pattern: "10.{type}.{instance}", types: { web: 1 } },
      "addressPlan.pattern",
      /four numbers/,
    ],
    [
      "five parts",
      { pattern: "10.0.0.{type}.{instance}", types: { web: 1 } },
      "addressPlan.pattern",
      /four numbers/,
    ],
    [
      "unknown placeholder",
      { pattern: "10.{zone}.0.{instance}" },
      "addressPlan.pattern",
      /unknown placeholder \{zone\}/,
    ],
    [
      "repeated placeholder",
      { pattern: "10.{instance}.0.{instance}" },
      "addressPlan.pattern",
      /\{instance\} appears more than once/,
    ],
    [
      "no instance",
      { pattern: "10.0.{type}.1", types: { web: 1 } },
      "addressPlan.pattern",
      /needs \{instance\}/,
    ],
    [
      "placeholder first",
      { pattern: "{location}.0.0.{instance}", locations: { a: 10 } },
      "addressPlan.pattern",
      /first number must be fixed/,
    ],
    [
      "octet over 255",
      { pattern: "10.256.0.{instance}" },
      "addressPlan.pattern",
      /"256" is neither/,
    ],
    ["leading zero", { pattern: "10.01.0.{instance}" }, "addressPlan.pattern", /"01" is neither/],
    ["empty part", { pattern: "10..0.{instance}" }, "addressPlan.pattern", /"" is neither/],
    ["type out of range", { ...ISSUE_PLAN, types: { web: 256 } }, "addressPlan.types.web", /./],
    ["negative location", { ...ISSUE_PLAN, locations: { a: -1 } }, "addressPlan.locations.a", /./],
    ["fractional type", { ...ISSUE_PLAN, types: { web: 1.5 } }, "addressPlan.types.web", /./],
    [
      "two types on one number",
      { ...ISSUE_PLAN, types: { web: 6, api: 6 } },
      "addressPlan.types.api",
      /already web's number/,
    ],
    [
      "two locations on one number",
      { ...ISSUE_PLAN, locations: { a: 1, b: 1 } },
      "addressPlan.locations.b",
      /already a's number/,
    ],
    [
      "type 0 in the last octet",
      { pattern: "10.0.{instance}.{type}", types: { web: 0 } },
      "addressPlan.types.web",
      /out of range .*1-254/,
    ],
    [
      "type 255 in the last octet",
      { pattern: "10.0.{instance}.{type}", types: { web: 255 } },
      "addressPlan.types.web",
      /1-254/,
    ],
    [
      "types the pattern does not use",
      { pattern: "10.0.0.{instance}", types: { web: 1 } },
      "addressPlan.types",
      /has no \{type\}/,
    ],
    [
      "no types for {type}",
      { pattern: "10.0.{type}.{instance}" },
      "addressPlan.types",
      /name at least one/,
    ],
    [
      "bad type name",
      { ...ISSUE_PLAN, types: { "Web!": 1 } },
      "addressPlan.types.Web!",
      /lower-case/,
    ],
    ["unknown field", { ...ISSUE_PLAN, zones: {} }, "addressPlan.zones", /unknown field "zones"/],
    ["missing pattern", { types: { web: 1 } }, "addressPlan.pattern", /./],
  ])("refuses %s, naming %s", (_what, data, field, message) => {
    const err = refusal(() => parseAddressPlan(data));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it("names the root it is given", () => {
    expect(refusal(() => parseAddressPlan({ pattern: "x" }, "stack.addressPlan")).field).toBe(
      "stack.addressPlan.pattern",
    );
  });
});

describe("nodeAddress", () => {
  const plan = parseAddressPlan(ISSUE_PLAN);

  it.each([
    [{ location: "nz-por-1", type: "web", instance: 1 }, "10.100.6.1"],
    [{ location: "nz-por-1", type: "web", instance: 2 }, "10.100.6.2"],
    [{ location: "nz-por-1", type: "db", instance: 254 }, "10.100.8.254"],
  ])("%o → %s", (slot, address) => {
    expect(nodeAddress(plan, slot)).toBe(address);
  });

  it.each([
    [
      { location: "nz-akl-1", type: "web", instance: 1 },
      "pools.web.location",
      /unknown location "nz-akl-1".*nz-por-1/,
    ],
    [
      { location: "nz-por-1", type: "cache", instance: 1 },
      "pools.web.type",
      /unknown type "cache".*web, db/,
    ],
    [{ type: "web", instance: 1 }, "pools.web.location", /required/],
    [
      { location: "nz-por-1", type: "web", instance: 0 },
      "pools.web.instance",
      /0 is out of range \(1-254\)/,
    ],
    [
      { location: "nz-por-1", type: "web", instance: 255 },
      "pools.web.instance",
      /255 is out of range/,
    ],
    [{ location: "nz-por-1", type: "web", instance: 2.5 }, "pools.web.instance", /out of range/],
    // Inherited names are not locations.
    [{ location: "toString", type: "web", instance: 1 }, "pools.web.location", /unknown location/],
  ])("refuses %o at %s", (slot, field, message) => {
    const err = refusal(() => nodeAddress(plan, slot, "pools.web"));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it("refuses a type on a plan without {type}", () => {
    const flat = parseAddressPlan({ pattern: "10.0.0.{instance}" });
    expect(refusal(() => nodeAddress(flat, { type: "web", instance: 1 })).field).toBe("node.type");
  });
});

describe("instanceRange", () => {
  it.each([
    ["10.{location}.{type}.{instance}", 254],
    ["10.{instance}.0.1", 255],
  ])("%s allows 1-%i", (pattern, max) => {
    const plan: AddressPlan = parseAddressPlan({
      pattern,
      ...(pattern.includes("{location}") ? { locations: { a: 1 }, types: { b: 2 } } : {}),
    });
    expect(instanceRange(plan)).toEqual({ min: 1, max });
  });
});

describe("loopbackTwin", () => {
  it.each([
    ["10.100.6.2", "127.100.6.2"],
    ["192.168.0.254", "127.168.0.254"],
    ["10.0.0.1", "127.0.0.1"],
  ])("%s → %s", (address, twin) => {
    expect(loopbackTwin(address)).toBe(twin);
  });

  it.each(["10.100.6", "10.100.6.256", "::1", "10.a.6.2"])("refuses %s", (address) => {
    expect(refusal(() => loopbackTwin(address)).field).toBe("address");
  });
});

describe("lowestFreeInstance", () => {
  const plan = parseAddressPlan(ISSUE_PLAN);

  it.each([
    [[], 1],
    [[1, 2, 3], 4],
    // Node 2 was destroyed: its successor gets 2, and so the same address.
    [[1, 3], 2],
    [[3, 2], 1],
    [[254], 1],
  ])("with %j in use → %i", (used, n) => {
    expect(lowestFreeInstance(plan, used)).toBe(n);
  });

  it("gives a replaced node its address back", () => {
    const used = [1, 2, 3];
    const before = nodeAddress(plan, { location: "nz-por-1", type: "web", instance: 2 });
    const again = lowestFreeInstance(
      plan,
      used.filter((n) => n !== 2),
    );
    expect(nodeAddress(plan, { location: "nz-por-1", type: "web", instance: again })).toBe(before);
  });

  it("refuses a full range, naming the pool", () => {
    const all = Array.from({ length: 254 }, (_, i) => i + 1);
    const err = refusal(() => lowestFreeInstance(plan, all, "pools.web"));
    expect(err.field).toBe("pools.web");
    expect(err.message).toMatch(/1-254 all in use/);
  });
});

describe("checkPoolPlacements", () => {
  const plan = parseAddressPlan(ISSUE_PLAN);

  it("accepts the issue's pools", () => {
    expect(() =>
      checkPoolPlacements(plan, {
        web: { location: "nz-por-1", type: "web", size: 3 },
        db: { location: "nz-por-1", type: "db", size: 254 },
      }),
    ).not.toThrow();
  });

  it.each([
    [
      { web: { location: "nz-por-1", type: "web", size: 255 } },
      "pools.web.size",
      /255 nodes do not fit.*1-254/,
    ],
    [
      { web: { location: "nz-por-1", type: "cache", size: 1 } },
      "pools.web.type",
      /unknown type "cache"/,
    ],
    [
      { web: { location: "x", type: "web", size: 1 } },
      "pools.web.location",
      /unknown location "x"/,
    ],
    [
      {
        web: { location: "nz-por-1", type: "web", size: 1 },
        api: { location: "nz-por-1", type: "web", size: 1 },
      },
      "pools.api.type",
      /pool web already has this location and type/,
    ],
  ])("refuses %j at %s", (pools, field, message) => {
    const err = refusal(() => checkPoolPlacements(plan, pools));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });
});

describe("poolAddressPattern and addressFromPattern", () => {
  const plan = parseAddressPlan(ISSUE_PLAN);

  it("leaves only {instance}, and gives the same address nodeAddress does", () => {
    const pattern = poolAddressPattern(plan, { location: "nz-por-1", type: "web" }, "pools.web");
    expect(pattern).toBe("10.100.6.{instance}");
    expect(addressFromPattern(pattern, 2)).toBe(
      nodeAddress(plan, { location: "nz-por-1", type: "web", instance: 2 }),
    );
  });

  it("fills a plan without {location}", () => {
    const p = parseAddressPlan({ pattern: "10.0.{type}.{instance}", types: { db: 8 } });
    expect(poolAddressPattern(p, { type: "db" })).toBe("10.0.8.{instance}");
  });

  it.each([
    [{ location: "nz-por-1", type: "cache" }, "pools.web.type", /unknown type "cache".*web, db/],
    [{ location: "au-syd-1", type: "web" }, "pools.web.location", /unknown location "au-syd-1"/],
    [{ type: "web" }, "pools.web.location", /required by the address plan/],
  ])("refuses %o at %s", (slot, field, message) => {
    const err = refusal(() => poolAddressPattern(plan, slot, "pools.web"));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it.each([
    ["10.100.6.7", 1],
    ["10.{instance}.6.{instance}", 1],
    ["10.100.6.{instance}", 256],
    ["10.100.6.{instance}", 1.5],
  ])("addressFromPattern refuses %s with %d", (pattern, n) => {
    refusal(() => addressFromPattern(pattern, n));
  });
});
