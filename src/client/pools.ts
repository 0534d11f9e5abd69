import type { PoolSpec, PoolView } from "../model/pool.js";
import type { GantryClient } from "./client.js";
import { ApiError } from "./errors.js";

const seg = encodeURIComponent;

/** The address plan as written in gantry.yaml (`addressPlan:`), with its store revision. */
export interface AddressPlanView {
  pattern: string;
  locations: Record<string, number>;
  types: Record<string, number>;
  modRevision: number;
}

/** Node pools (src/api/routes/pools.ts, docs/pools.md). */
export class PoolsClient {
  constructor(readonly client: GantryClient) {}

  /** Every pool with its last status (`gantry pools`). */
  list(): Promise<(PoolView & { modRevision: number })[]> {
    return this.client.json("GET", "/v1/pools");
  }

  /** One pool, or undefined when there is none of that name. */
  get(name: string): Promise<(PoolView & { modRevision: number }) | undefined> {
    return notFound(() => this.client.json("GET", `/v1/pools/${seg(name)}`));
  }

  /** Create or change a pool (the stack's `pools.<name>`); the controller does the rest. */
  put(name: string, spec: PoolSpec): Promise<PoolView> {
    return this.client.json("PUT", `/v1/pools/${seg(name)}`, { body: spec });
  }

  /** Remove a pool: the controller drains and destroys its nodes, then forgets it. */
  delete(name: string): Promise<void> {
    return this.client.json("DELETE", `/v1/pools/${seg(name)}`);
  }

  /** `gantry pools:scale POOL N` (within the pool's min and max). */
  scale(name: string, size: number): Promise<PoolView> {
    return this.client.json("POST", `/v1/pools/${seg(name)}/scale`, { body: { size } });
  }

  /** `gantry pools:replace POOL [NODE]`: replace one node, or all, one at a time. */
  replace(name: string, node?: string): Promise<PoolView> {
    return this.client.json("POST", `/v1/pools/${seg(name)}/replace`, {
      body: node === undefined ? {} : { node },
    });
  }

  /** The address plan, or undefined when none was written. */
  addressPlan(): Promise<AddressPlanView | undefined> {
    return notFound(() => this.client.json("GET", "/v1/address-plan"));
  }

  setAddressPlan(plan: Omit<AddressPlanView, "modRevision">): Promise<AddressPlanView> {
    return this.client.json("PUT", "/v1/address-plan", { body: plan });
  }

  /** Refused while a pool uses the plan. */
  deleteAddressPlan(): Promise<void> {
    return this.client.json("DELETE", "/v1/address-plan");
  }
}

async function notFound<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}
