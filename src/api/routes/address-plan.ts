import * as z from "zod";
import { conflict, notFound } from "../../errors.js";
import { K } from "../../model/keys.js";
import { parseAddressPlan } from "../../pools/address-plan.js";
import { replanPools } from "../../pools/record.js";
import type { TxnOp } from "../../store/index.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { mayPlan, readPoolState, retryGuarded, unchanged } from "./pools-state.js";

/**
 * The address plan pools take node addresses from (`addressPlan` in gantry.yaml). Changing it
 * resolves every pool's address pattern again in the same transaction; a pool whose pattern
 * changes gets a new settings hash, so the controller replaces its nodes one at a time.
 */
export function addressPlanRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  return [
    {
      method: "GET",
      path: "/v1/address-plan",
      summary: "The address plan {pattern, locations, types, modRevision}",
      handler: async (ctx) => {
        ctx.allowQuery();
        mayPlan(ctx, "read");
        const { plan } = await readPoolState(store);
        if (plan === undefined) throw notFound("address plan");
        ctx.send(200, { ...plan.raw, modRevision: plan.modRevision });
      },
    },
    {
      method: "PUT",
      path: "/v1/address-plan",
      summary:
        "Set the address plan {pattern, locations, types}; every pool's addresses are resolved again",
      handler: async (ctx) => {
        ctx.allowQuery();
        mayPlan(ctx, "write");
        const plan = parseAddressPlan(await ctx.json(z.unknown()), "addressPlan");
        const raw = { pattern: plan.pattern, locations: plan.locations, types: plan.types };
        const out = await retryGuarded("the address plan", async () => {
          const state = await readPoolState(store);
          const stored = [...state.pools.values()];
          const records = stored.flatMap((p) => (p.record === undefined ? [] : [p.record]));
          const by = { who: ctx.who.name, now: new Date().toISOString() };
          const replanned = replanPools(plan, records, by);
          const changed = replanned.filter((r, i) => r !== records[i]);
          const puts: TxnOp[] = changed.map((r) => ({
            type: "put",
            key: K.poolSpecs + r.name,
            value: JSON.stringify(r),
          }));
          const res = await store.txn({
            compare: [
              unchanged(K.addressPlan, state.planRevision),
              ...stored.map((p) => unchanged(K.poolSpecs + p.name, p.modRevision)),
            ],
            success: [
              { type: "put", key: K.addressPlan, value: JSON.stringify(raw) },
              ...puts,
              deps.audit.entry(ctx.who, "pool.address-plan", plan.pattern),
            ],
          });
          if (!res.succeeded) return undefined;
          return { ...raw, modRevision: res.revision, replanned: changed.map((r) => r.name) };
        });
        ctx.send(200, out);
      },
    },
    {
      method: "DELETE",
      path: "/v1/address-plan",
      summary: "Remove the address plan (refused while any pool exists)",
      handler: async (ctx) => {
        ctx.allowQuery();
        mayPlan(ctx, "write");
        const out = await retryGuarded("the address plan", async () => {
          const state = await readPoolState(store);
          if (state.planRevision === 0) throw notFound("address plan");
          const pools = [...state.pools.keys()];
          if (pools.length > 0)
            throw conflict(
              `the address plan is in use by pool${pools.length > 1 ? "s" : ""} ${pools.join(", ")}: remove ${pools.length > 1 ? "them" : "it"} first`,
            );
          // Pool writes compare the plan's revision: none can slip in between.
          const res = await store.txn({
            compare: [unchanged(K.addressPlan, state.planRevision)],
            success: [
              { type: "delete", range: K.addressPlan },
              deps.audit.entry(ctx.who, "pool.address-plan.delete", state.plan?.raw.pattern ?? ""),
            ],
          });
          return res.succeeded ? { ok: true, revision: res.revision } : undefined;
        });
        ctx.send(200, out);
      },
    },
  ];
}
