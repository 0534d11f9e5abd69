import { createHash } from "node:crypto";
import { ValidationError } from "../errors.js";
import { PoolSpecSchema, type PoolRecord, type PoolSpec } from "../model/pool.js";
import {
  checkPoolPlacements,
  poolAddressPattern,
  type AddressPlan,
  type PoolPlacement,
} from "./address-plan.js";

/**
 * The server's side of a pool record (`pools/specs/<name>`), as pure functions: what a PUT of
 * the stack's `pools.<name>` or of the address plan makes of the records there are. The API
 * routes (src/api/routes/pools.ts) read, call these, and write in one guarded transaction.
 */

/** JSON with object keys sorted, so equal values always give equal text. */
function canonical(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(",")}}`;
}

/**
 * What a node is made from: the provider, its settings and the address pattern. Size, roles,
 * vars, labels and the repair settings are left out: changing them replaces no machine.
 */
export function poolSettingsHash(spec: PoolSpec, addressPattern: string): string {
  const { provider, docker, ssh, exec } = spec;
  return createHash("sha256")
    .update(canonical({ provider, docker, ssh, exec, addressPattern }))
    .digest("hex");
}

/** A stored record, or undefined when it is damaged (its spec no longer parses). */
export function parsePoolRecord(text: string): PoolRecord | undefined {
  try {
    const r = JSON.parse(text) as PoolRecord;
    if (typeof r !== "object" || r === null || typeof r.name !== "string") return undefined;
    const spec = PoolSpecSchema.safeParse(r.spec);
    return spec.success ? { ...r, spec: spec.data } : undefined;
  } catch {
    return undefined;
  }
}

/** The sizes `gantry pools:scale` may ask for: `min`..`max`, each defaulting to `size`. */
export const scaleBounds = (spec: PoolSpec): { min: number; max: number } => ({
  min: spec.min ?? spec.size,
  max: spec.max ?? spec.size,
});

/** What the address plan must hold of a pool: the largest size it may be scaled to. */
const placementOf = (spec: PoolSpec): PoolPlacement => ({
  ...(spec.location === undefined ? {} : { location: spec.location }),
  ...(spec.type === undefined ? {} : { type: spec.type }),
  size: Math.max(spec.size, spec.max ?? 0),
});

/** `min <= size <= max`, each when given; errors at `pools.NAME.size`. */
export function checkSizeBounds(name: string, spec: PoolSpec): void {
  const field = `pools.${name}`;
  if (spec.min !== undefined && spec.size < spec.min)
    throw new ValidationError(
      `${field}.size: ${spec.size} is below min ${spec.min}`,
      `${field}.size`,
    );
  if (spec.max !== undefined && spec.size > spec.max)
    throw new ValidationError(
      `${field}.size: ${spec.size} is above max ${spec.max}`,
      `${field}.size`,
    );
}

/** Refuse a `pools:scale` size outside the pool's bounds, saying which setting to change. */
export function checkScale(name: string, spec: PoolSpec, size: number): void {
  const { min, max } = scaleBounds(spec);
  const field = `pools.${name}`;
  if (size > max)
    throw new ValidationError(
      spec.max === undefined
        ? `${field}.max is not set, so ${name} scales only to its size ${spec.size}: set max in gantry.yaml`
        : `${field}.max is ${max}: raise it in gantry.yaml to scale ${name} to ${size}`,
      "size",
    );
  if (size < min)
    throw new ValidationError(
      spec.min === undefined
        ? `${field}.min is not set, so ${name} scales down only to its size ${spec.size}: set min in gantry.yaml`
        : `${field}.min is ${min}: lower it in gantry.yaml to scale ${name} to ${size}`,
      "size",
    );
}

/** Check every pool's placement on the plan; `last` goes last so a clash names it. */
function checkPlacements(plan: AddressPlan, records: readonly PoolRecord[], last?: string): void {
  const ordered = [...records].sort((a, b) => Number(a.name === last) - Number(b.name === last));
  checkPoolPlacements(plan, Object.fromEntries(ordered.map((r) => [r.name, placementOf(r.spec)])));
}

/** Who wrote a record, and when. */
export interface Writer {
  who: string;
  now: string;
}

/**
 * The record a PUT of `spec` makes: its address pattern and settings hash resolved on `plan`,
 * checked against the other pools. A changed `size` clears `scaledTo` (the stack wins), as does
 * a `scaledTo` the new bounds no longer allow; a pool being deleted is taken back.
 */
export function putPoolRecord(
  name: string,
  spec: PoolSpec,
  plan: AddressPlan,
  previous: PoolRecord | undefined,
  others: readonly PoolRecord[],
  by: Writer,
): PoolRecord {
  checkSizeBounds(name, spec);
  const bad = providerSettingsProblems(spec)[0];
  if (bad !== undefined)
    throw new ValidationError(
      `pools.${name}.${bad.path}: ${bad.message}`,
      `pools.${name}.${bad.path}`,
    );
  const addressPattern = poolAddressPattern(plan, spec, `pools.${name}`);
  const record: PoolRecord = {
    name,
    spec,
    addressPattern,
    settingsHash: poolSettingsHash(spec, addressPattern),
    updatedAt: by.now,
    updatedBy: by.who,
  };
  checkPlacements(plan, [...others.filter((r) => r.name !== name), record], name);
  const scaledTo = previous?.scaledTo;
  if (scaledTo !== undefined && previous!.spec.size === spec.size) {
    const { min, max } = scaleBounds(spec);
    if (scaledTo >= min && scaledTo <= max) record.scaledTo = scaledTo;
  }
  if (previous?.replace !== undefined) record.replace = previous.replace;
  return record;
}

/**
 * Every pool on a new plan: address patterns and settings hashes computed again (a changed
 * pattern replaces the pool's nodes, one at a time). Refuses, naming the pool, a plan some pool
 * no longer fits.
 */
export function replanPools(
  plan: AddressPlan,
  records: readonly PoolRecord[],
  by: Writer,
): PoolRecord[] {
  const out = records.map((r) => {
    const addressPattern = poolAddressPattern(plan, r.spec, `pools.${r.name}`);
    const settingsHash = poolSettingsHash(r.spec, addressPattern);
    if (addressPattern === r.addressPattern && settingsHash === r.settingsHash) return r;
    return { ...r, addressPattern, settingsHash, updatedAt: by.now, updatedBy: by.who };
  });
  checkPlacements(plan, out);
  return out;
}

/** The settings block each provider takes (`local` takes none). */
const BLOCKS = ["docker", "ssh", "exec"] as const;

/**
 * Each pool has its provider's settings and no other provider's, and an ssh pool has a host for
 * every node it may grow to; `path` is under `pools.NAME` (the stack and the API both say it).
 */
export function providerSettingsProblems(spec: PoolSpec): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const max = Math.max(spec.size, spec.max ?? 0);
  for (const block of BLOCKS)
    if (spec[block] !== undefined && block !== spec.provider)
      out.push({
        path: block,
        message: `settings for the ${block} provider on a ${spec.provider} pool: remove them, or set provider: ${block}`,
      });
  if (spec.provider === "ssh") {
    if (spec.ssh === undefined)
      out.push({
        path: "ssh",
        message: "provider ssh needs the hosts to run nodes on: ssh: {hosts: [host-1, …]}",
      });
    else if (max > spec.ssh.hosts.length)
      out.push({
        path: spec.max === undefined ? "size" : "max",
        message: `${max} nodes need ${max} hosts; ssh.hosts has ${spec.ssh.hosts.length}`,
      });
  }
  if (spec.provider === "exec" && spec.exec === undefined)
    out.push({
      path: "exec",
      message:
        "provider exec needs its commands: exec: {create: [...], destroy: [...], list: [...]}",
    });
  return out;
}
