import { kvsOf } from "../../apps/records.js";
import { conflict, notFound } from "../../errors.js";
import { K } from "../../model/keys.js";
import type { PoolRecord, PoolStatus, PoolView } from "../../model/pool.js";
import { allowsPrefix } from "../../model/token.js";
import { AddressPlanSchema, parseAddressPlan, type AddressPlan } from "../../pools/address-plan.js";
import { parsePoolRecord } from "../../pools/record.js";
import { text, type Compare, type KeyValue, type Store } from "../../store/index.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import type * as z from "zod";

/** A stored pool: its record (undefined when damaged) and the revision it was read at. */
export interface StoredPool {
  name: string;
  record: PoolRecord | undefined;
  modRevision: number;
}

/** The stored address plan: as written (what GET answers), parsed, and its revision. */
export interface StoredPlan {
  raw: z.infer<typeof AddressPlanSchema>;
  plan: AddressPlan;
  modRevision: number;
}

/** Every pool record, status and the address plan, read at one revision. */
export interface PoolState {
  pools: Map<string, StoredPool>;
  statuses: Map<string, PoolStatus>;
  plan: StoredPlan | undefined;
  /** The plan key's revision, also when its value is damaged (0: absent). */
  planRevision: number;
  revision: number;
}

function parseJson<T>(kv: KeyValue): T | undefined {
  try {
    return JSON.parse(text(kv.value)) as T;
  } catch {
    return undefined;
  }
}

/** Read what the pool routes decide from, in one transaction. */
export async function readPoolState(store: Store): Promise<PoolState> {
  const res = await store.txn({
    success: [
      { type: "get", range: { prefix: K.poolSpecs } },
      { type: "get", range: { prefix: K.poolStatus } },
      { type: "get", range: K.addressPlan },
    ],
  });
  const pools = new Map<string, StoredPool>();
  for (const kv of kvsOf(res, 0)) {
    const name = kv.key.slice(K.poolSpecs.length);
    pools.set(name, { name, record: parsePoolRecord(text(kv.value)), modRevision: kv.modRevision });
  }
  const statuses = new Map<string, PoolStatus>();
  for (const kv of kvsOf(res, 1)) {
    const status = parseJson<PoolStatus>(kv);
    if (status !== undefined) statuses.set(kv.key.slice(K.poolStatus.length), status);
  }
  const planKv = kvsOf(res, 2)[0];
  return {
    pools,
    statuses,
    plan: storedPlan(planKv),
    planRevision: planKv?.modRevision ?? 0,
    revision: res.revision,
  };
}

function storedPlan(kv: KeyValue | undefined): StoredPlan | undefined {
  if (kv === undefined) return undefined;
  const raw = AddressPlanSchema.safeParse(parseJson(kv));
  if (!raw.success) return undefined;
  try {
    return { raw: raw.data, plan: parseAddressPlan(raw.data), modRevision: kv.modRevision };
  } catch {
    return undefined;
  }
}

/** The pool named, or 404. */
export function poolOf(state: PoolState, name: string): StoredPool & { record: PoolRecord } {
  const p = state.pools.get(name);
  if (p?.record === undefined) throw notFound(`pool "${name}"`);
  return { ...p, record: p.record };
}

/** A record with its last status, as the API shows it. */
export const poolView = (state: PoolState, record: PoolRecord): PoolView => {
  const status = state.statuses.get(record.name);
  return status === undefined ? record : { ...record, status };
};

/** The compare that makes a write lose to any write of `key` since `modRevision` (0: absent). */
export const unchanged = (key: string, modRevision: number): Compare => ({
  key,
  target: "modRevision",
  op: "==",
  value: modRevision,
});

/**
 * Run a read-decide-write until its guarded write succeeds (`attempt` returns undefined when
 * its compare failed), so concurrent writers never lose each other's changes.
 */
export async function retryGuarded<T>(what: string, attempt: () => Promise<T | undefined>) {
  for (let i = 0; i < 16; i++) {
    const out = await attempt();
    if (out !== undefined) return out;
  }
  throw conflict(`${what} kept changing while this request ran; try again`);
}

/** The address plan concerns every pool: reading it takes `pool::read`, changing it `pool::write`. */
export function mayPlan(ctx: Ctx, access: "read" | "write"): void {
  if (!allowsPrefix(ctx.who.policies, "pool", "", access))
    throw forbidden(`${access === "read" ? "read" : "change"} the address plan (pool::${access})`);
}
