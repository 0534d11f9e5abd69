import * as z from "zod";
import { ValidationError } from "../errors.js";
import { parseWith } from "../validate.js";

/**
 * The address plan of issue 14: `10.{location}.{type}.{instance}` — four numbers, each either
 * fixed or one placeholder standing for one whole octet. A node's address is a pure function of
 * (location, type, instance number); instance numbers are reused, so a replaced node gets its
 * number, and with it its address, back.
 */

export type Placeholder = "location" | "type" | "instance";
export type AddressPart = { fixed: number } | { placeholder: Placeholder };

export interface AddressPlan {
  pattern: string;
  parts: readonly [AddressPart, AddressPart, AddressPart, AddressPart];
  locations: Readonly<Record<string, number>>;
  types: Readonly<Record<string, number>>;
}

/** Where a node sits on the plan. */
export interface Slot {
  location?: string;
  type?: string;
  instance: number;
}

// Names are checked in checkMap: zod's own message for a bad record key does not say why.
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const OctetMapSchema = z.record(z.string(), z.int().min(0).max(255)).default({});

/** `addressPlan` in gantry.yaml, before the checks that span fields. */
export const AddressPlanSchema = z.strictObject({
  pattern: z.string().max(64),
  locations: OctetMapSchema,
  types: OctetMapSchema,
});

const OCTET = /^(0|[1-9][0-9]{0,2})$/;
const PLACEHOLDER = /^\{([a-z]+)\}$/;

/** Parse and check an address plan; errors name the field under `root` (`addressPlan.types.web`). */
export function parseAddressPlan(data: unknown, root = "addressPlan"): AddressPlan {
  const raw = parseWith(AddressPlanSchema, data, root);
  const parts = parsePattern(raw.pattern, `${root}.pattern`);
  const plan: AddressPlan = {
    pattern: raw.pattern,
    parts,
    locations: raw.locations,
    types: raw.types,
  };
  checkMap(plan, "location", `${root}.locations`);
  checkMap(plan, "type", `${root}.types`);
  return plan;
}

function parsePattern(pattern: string, field: string): AddressPlan["parts"] {
  const texts = pattern.split(".");
  if (texts.length !== 4)
    throw new ValidationError(
      `${field}: must be four numbers or placeholders joined by dots, like "10.{location}.{type}.{instance}", got "${pattern}"`,
      field,
    );
  const seen = new Set<Placeholder>();
  const parts = texts.map((text): AddressPart => {
    const name = PLACEHOLDER.exec(text)?.[1];
    if (name !== undefined) {
      if (name !== "location" && name !== "type" && name !== "instance")
        throw new ValidationError(
          `${field}: unknown placeholder {${name}} (known: {location}, {type}, {instance})`,
          field,
        );
      if (seen.has(name))
        throw new ValidationError(`${field}: {${name}} appears more than once`, field);
      seen.add(name);
      return { placeholder: name };
    }
    if (!OCTET.test(text) || Number(text) > 255)
      throw new ValidationError(
        `${field}: "${text}" is neither a number 0-255 nor a placeholder such as {instance}`,
        field,
      );
    return { fixed: Number(text) };
  });
  if (!seen.has("instance"))
    throw new ValidationError(
      `${field}: needs {instance}, or every node would share one address`,
      field,
    );
  // Nodes on one machine bind 127.<last three numbers>: those must tell every node apart.
  if ("placeholder" in parts[0]!)
    throw new ValidationError(
      `${field}: the first number must be fixed (nodes on one machine bind 127. and the last three numbers)`,
      field,
    );
  return parts as unknown as AddressPlan["parts"];
}

/** The octets a placeholder may take: 1-254 in the last position (not network, not broadcast). */
function octetRange(plan: AddressPlan, placeholder: Placeholder): { min: number; max: number } {
  const last = plan.parts[3];
  const isLast = "placeholder" in last && last.placeholder === placeholder;
  if (placeholder === "instance") return { min: 1, max: isLast ? 254 : 255 };
  return isLast ? { min: 1, max: 254 } : { min: 0, max: 255 };
}

const uses = (plan: AddressPlan, p: Placeholder): boolean =>
  plan.parts.some((part) => "placeholder" in part && part.placeholder === p);

function checkMap(plan: AddressPlan, placeholder: "location" | "type", field: string): void {
  const map = placeholder === "location" ? plan.locations : plan.types;
  const entries = Object.entries(map);
  if (!uses(plan, placeholder)) {
    if (entries.length > 0)
      throw new ValidationError(
        `${field}: the pattern "${plan.pattern}" has no {${placeholder}}, so these numbers would not be used`,
        field,
      );
    return;
  }
  if (entries.length === 0)
    throw new ValidationError(
      `${field}: the pattern uses {${placeholder}}; name at least one`,
      field,
    );
  const { min, max } = octetRange(plan, placeholder);
  const owner = new Map<number, string>();
  for (const [name, n] of entries) {
    if (!NAME.test(name))
      throw new ValidationError(
        `${field}.${name}: a ${placeholder} name must be lower-case letters, digits, _ and - (starting with a letter or digit), at most 63 characters`,
        `${field}.${name}`,
      );
    if (n < min || n > max)
      throw new ValidationError(
        `${field}.${name}: ${n} is out of range for {${placeholder}} here (${min}-${max})`,
        `${field}.${name}`,
      );
    const first = owner.get(n);
    if (first !== undefined)
      throw new ValidationError(
        `${field}.${name}: ${n} is already ${first}'s number (two ${placeholder}s would share addresses)`,
        `${field}.${name}`,
      );
    owner.set(n, name);
  }
}

/** The instance numbers a plan allows: from 1 up to 254 or 255. */
export function instanceRange(plan: AddressPlan): { min: number; max: number } {
  return octetRange(plan, "instance");
}

/**
 * The octet for a location or type name; `field` is where the name came from
 * (`pools.web.location`).
 */
function lookup(
  plan: AddressPlan,
  placeholder: "location" | "type",
  name: string | undefined,
  field: string,
): number | undefined {
  const map = placeholder === "location" ? plan.locations : plan.types;
  if (!uses(plan, placeholder)) {
    if (name === undefined) return undefined;
    throw new ValidationError(
      `${field}: the address plan "${plan.pattern}" has no {${placeholder}}; leave ${placeholder} out`,
      field,
    );
  }
  if (name === undefined)
    throw new ValidationError(`${field}: required by the address plan "${plan.pattern}"`, field);
  const n = Object.hasOwn(map, name) ? map[name] : undefined;
  if (n === undefined) {
    const known = Object.keys(map).join(", ");
    throw new ValidationError(
      `${field}: unknown ${placeholder} "${name}" (the address plan has: ${known})`,
      field,
    );
  }
  return n;
}

/**
 * A node's address on the plan. `field` prefixes errors about the slot (`pools.web`):
 * `pools.web.location`, `pools.web.type`, `pools.web.instance`.
 */
export function nodeAddress(plan: AddressPlan, slot: Slot, field = "node"): string {
  const location = lookup(plan, "location", slot.location, `${field}.location`);
  const type = lookup(plan, "type", slot.type, `${field}.type`);
  const { min, max } = instanceRange(plan);
  if (!Number.isInteger(slot.instance) || slot.instance < min || slot.instance > max)
    throw new ValidationError(
      `${field}.instance: ${slot.instance} is out of range (${min}-${max})`,
      `${field}.instance`,
    );
  const value = { location, type, instance: slot.instance };
  return plan.parts.map((p) => ("fixed" in p ? p.fixed : value[p.placeholder])).join(".");
}

/** The loopback address a node binds on a one-machine pool: `127.100.6.2` for `10.100.6.2`. */
export function loopbackTwin(address: string): string {
  const parts = address.split(".");
  if (parts.length !== 4 || parts.some((p) => !OCTET.test(p) || Number(p) > 255))
    throw new ValidationError(`not an IPv4 address: "${address}"`, "address");
  return ["127", ...parts.slice(1)].join(".");
}

/**
 * The lowest instance number not in `used`: a replaced node's number is free again once it is
 * destroyed, so its successor gets the same number and address. Refuses a full range.
 */
export function lowestFreeInstance(
  plan: AddressPlan,
  used: Iterable<number>,
  field = "pool",
): number {
  const taken = new Set(used);
  const { min, max } = instanceRange(plan);
  for (let n = min; n <= max; n++) if (!taken.has(n)) return n;
  throw new ValidationError(
    `${field}: no free instance number left on the address plan (${min}-${max} all in use)`,
    field,
  );
}

/** What the plan needs of a pool in gantry.yaml. */
export interface PoolPlacement {
  location?: string;
  type?: string;
  /** Desired size, or the largest `max` it may be scaled to. */
  size: number;
}

/**
 * Check pools against the plan: known location and type, a size that fits the instance range,
 * and no two pools on one (location, type) — they would hand out the same addresses.
 */
export function checkPoolPlacements(
  plan: AddressPlan,
  pools: Readonly<Record<string, PoolPlacement>>,
  root = "pools",
): void {
  const owner = new Map<string, string>();
  const { min, max } = instanceRange(plan);
  for (const [name, pool] of Object.entries(pools)) {
    const field = `${root}.${name}`;
    // Validates location and type by computing the first address.
    nodeAddress(plan, { ...pool, instance: min }, field);
    if (pool.size > max - min + 1)
      throw new ValidationError(
        `${field}.size: ${pool.size} nodes do not fit on the address plan (instance numbers ${min}-${max})`,
        `${field}.size`,
      );
    const key = `${pool.location ?? ""}/${pool.type ?? ""}`;
    const first = owner.get(key);
    if (first !== undefined)
      throw new ValidationError(
        `${field}.type: pool ${first} already has this location and type (two pools would share addresses)`,
        `${field}.type`,
      );
    owner.set(key, name);
  }
}

/**
 * A pool's slice of the plan: its location and type filled in, only `{instance}` left
 * (`10.100.6.{instance}`). The server stores it with the pool, so the controller needs no plan to
 * address a node. Errors as `nodeAddress`'s, at `${field}.location|type`.
 */
export function poolAddressPattern(
  plan: AddressPlan,
  pool: Omit<Slot, "instance">,
  field = "pool",
): string {
  const location = lookup(plan, "location", pool.location, `${field}.location`);
  const type = lookup(plan, "type", pool.type, `${field}.type`);
  const value = { location, type, instance: "{instance}" };
  return plan.parts.map((p) => ("fixed" in p ? p.fixed : value[p.placeholder])).join(".");
}

/** A node's address from its pool's pattern: `10.100.6.{instance}`, 2 → `10.100.6.2`. */
export function addressFromPattern(pattern: string, instance: number): string {
  if (pattern.split("{instance}").length !== 2)
    throw new ValidationError(
      `"${pattern}" is not a pool address pattern (it needs {instance} once)`,
      "addressPattern",
    );
  if (!Number.isInteger(instance) || instance < 0 || instance > 255)
    throw new ValidationError(`instance: ${instance} is not a number 0-255`, "instance");
  return pattern.replace("{instance}", String(instance));
}

/** The highest instance number a resolved pattern allows: 254 when `{instance}` is last, else 255. */
export function maxInstanceOfPattern(pattern: string): number {
  return pattern.endsWith(".{instance}") ? 254 : 255;
}
