/**
 * A tiny world for the pool planner's unit tests (src/controllers/pools-plan*.test.ts): a pool
 * record, its nodes as records and memory-provider machines, and a compact view of the actions.
 */
import { PoolSpecSchema, type PoolRecord } from "../../src/model/pool.js";
import type { PoolNode } from "../../src/pools/provider.js";
import { planPool, type PoolNodeRecord, type PoolWorld } from "../../src/controllers/pools-plan.js";

export const T0 = Date.parse("2026-12-07T12:00:00Z");
export const iso = (ms: number): string => new Date(ms).toISOString();

export function record(
  over: Omit<Partial<PoolRecord>, "spec"> & { size?: number; spec?: object } = {},
): PoolRecord {
  const { size, spec, ...rest } = over;
  return {
    name: "web",
    spec: PoolSpecSchema.parse({ provider: "local", size: size ?? 3, ...spec }),
    addressPattern: "10.100.6.{instance}",
    settingsHash: "h1",
    updatedAt: iso(T0),
    updatedBy: "test",
    ...rest,
  };
}

/** Node n of pool web: its record and (unless `machine: false`) a running machine (memory shape). */
export function node(
  n: number,
  o: { machine?: "running" | "stopped" | false; rec?: Partial<PoolNodeRecord> } = {},
): { rec: PoolNodeRecord; machine?: PoolNode } {
  const base = { name: `web-${n}`, pool: "web", instance: n, address: `10.100.6.${n}` };
  const rec: PoolNodeRecord = {
    ...base,
    settingsHash: "h1",
    createdAt: iso(T0 - 600_000),
    joinedAt: iso(T0 - 590_000),
    ...o.rec,
  };
  if (o.machine === false) return { rec };
  const machine: PoolNode = {
    ...base,
    state: o.machine ?? "running",
    providerId: `m${n}`,
    createdAt: rec.createdAt,
  };
  return { rec, machine };
}

export function world(
  nodes: { rec: PoolNodeRecord; machine?: PoolNode }[],
  over: Partial<Omit<PoolWorld, "live">> & { live?: string[]; dead?: string[] } = {},
): PoolWorld {
  const { live, dead = [], ...rest } = over;
  const alive = live ?? nodes.filter((n) => n.rec.joinedAt !== undefined).map((n) => n.rec.name);
  return {
    record: record(),
    machines: nodes.flatMap((n) => (n.machine === undefined ? [] : [n.machine])),
    nodes: nodes.map((n) => n.rec),
    live: new Set(alive.filter((n) => !dead.includes(n))),
    downSince: new Map(),
    busy: new Set(),
    converged: new Set(),
    inFlight: new Set(),
    now: T0,
    ...rest,
  };
}

export const kinds = (w: PoolWorld): string[] =>
  planPool(w).actions.map((a) =>
    a.kind === "deletePool"
      ? "deletePool"
      : a.kind === "create"
        ? `create ${a.node} ${a.address} (${a.why}${a.surgeFor === undefined ? "" : ` for ${a.surgeFor}`})`
        : a.kind === "destroy"
          ? `destroy ${a.node}${a.repair ? " (repair)" : ""}`
          : `drain ${a.node}`,
  );
