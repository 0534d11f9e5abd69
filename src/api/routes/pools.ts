import * as z from "zod";
import { kvsOf } from "../../apps/records.js";
import { conflict, notFound } from "../../errors.js";
import { K } from "../../model/keys.js";
import {
  PoolNameSchema,
  PoolReplaceSchema,
  PoolScaleSchema,
  PoolSpecSchema,
  type PoolRecord,
} from "../../model/pool.js";
import { allows } from "../../model/token.js";
import { checkScale, putPoolRecord } from "../../pools/record.js";
import { text, type KeyValue } from "../../store/index.js";
import { parseWith } from "../../validate.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";
import {
  poolOf,
  poolView,
  readPoolState,
  retryGuarded,
  unchanged,
  type PoolState,
  type StoredPool,
} from "./pools-state.js";

const NO_PLAN =
  "there is no address plan: declare addressPlan in gantry.yaml (pools take their node addresses from it)";

/**
 * Node pools (docs/pools.md, "API and CLI"): the stack writes each pool's spec, people scale and
 * replace, the pool controller (leader only) does the work and reports `pools/status/<name>`.
 * Every write is a read-decide-write guarded by the revisions it read.
 */
export function poolRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;

  const poolName = (ctx: Ctx, access: "read" | "write"): string => {
    const name = pathParam(ctx, "name", PoolNameSchema);
    if (!allows(ctx.who.policies, "pool", name, access))
      throw forbidden(`${access} pool "${name}"`);
    return name;
  };

  /** Write a changed record of a pool read at `p.modRevision`; undefined when it changed since. */
  const writeRecord = async (
    ctx: Ctx,
    state: PoolState,
    p: StoredPool,
    record: PoolRecord,
    action: string,
    target: string,
  ) => {
    const key = K.poolSpecs + p.name;
    const res = await store.txn({
      compare: [unchanged(key, p.modRevision)],
      success: [
        { type: "put", key, value: JSON.stringify(record) },
        deps.audit.entry(ctx.who, action, target),
      ],
    });
    return res.succeeded ? { ...poolView(state, record), modRevision: res.revision } : undefined;
  };

  const by = (ctx: Ctx) => ({ who: ctx.who.name, now: new Date().toISOString() });

  return [
    {
      method: "GET",
      path: "/v1/pools",
      summary: "Every pool the token may read: its record and the controller's last status",
      handler: async (ctx) => {
        ctx.allowQuery();
        const state = await readPoolState(store);
        // With each record's modRevision: a saved plan refuses to apply over a changed pool.
        const views = [...state.pools.values()]
          .flatMap((p) => (p.record === undefined ? [] : [{ r: p.record, rev: p.modRevision }]))
          .filter(({ r }) => allows(ctx.who.policies, "pool", r.name, "read"))
          .sort((a, b) => (a.r.name < b.r.name ? -1 : a.r.name > b.r.name ? 1 : 0))
          .map(({ r, rev }) => ({ ...poolView(state, r), modRevision: rev }));
        ctx.send(200, views, { "x-gantry-index": String(state.revision) });
      },
    },
    {
      method: "GET",
      path: "/v1/pools/:name",
      summary: "One pool: its record, last status and modRevision",
      handler: async (ctx) => {
        ctx.allowQuery();
        const name = poolName(ctx, "read");
        const state = await readPoolState(store);
        const p = poolOf(state, name);
        ctx.send(200, { ...poolView(state, p.record), modRevision: p.modRevision });
      },
    },
    {
      method: "PUT",
      path: "/v1/pools/:name",
      summary:
        "Create or change a pool (the stack's pools.NAME); its addresses come from the address plan",
      handler: async (ctx) => {
        ctx.allowQuery();
        const name = poolName(ctx, "write");
        const spec = parseWith(PoolSpecSchema, await ctx.json(z.unknown()), `pools.${name}`);
        const view = await retryGuarded(`pool "${name}"`, async () => {
          const state = await readPoolState(store);
          if (state.plan === undefined) throw conflict(NO_PLAN);
          const prev = state.pools.get(name);
          const others = [...state.pools.values()].flatMap((p) =>
            p.record === undefined ? [] : [p.record],
          );
          const record = putPoolRecord(name, spec, state.plan.plan, prev?.record, others, by(ctx));
          const key = K.poolSpecs + name;
          // Re-putting the plan serialises pool writes on it: two pools checked against each
          // other's absence cannot both land on one location and type.
          const res = await store.txn({
            compare: [
              unchanged(key, prev?.modRevision ?? 0),
              unchanged(K.addressPlan, state.plan.modRevision),
            ],
            success: [
              { type: "put", key, value: JSON.stringify(record) },
              { type: "put", key: K.addressPlan, value: JSON.stringify(state.plan.raw) },
              deps.audit.entry(ctx.who, "pool.put", name),
            ],
          });
          return res.succeeded
            ? { ...poolView(state, record), modRevision: res.revision }
            : undefined;
        });
        ctx.send(200, view);
      },
    },
    {
      method: "DELETE",
      path: "/v1/pools/:name",
      summary:
        "Remove a pool: the controller drains and destroys its nodes, then deletes the record",
      handler: async (ctx) => {
        ctx.allowQuery();
        const name = poolName(ctx, "write");
        const out = await retryGuarded(`pool "${name}"`, async () => {
          const state = await readPoolState(store);
          const p = poolOf(state, name);
          if (p.record.deletedAt !== undefined)
            return { ok: true, deletedAt: p.record.deletedAt, revision: state.revision };
          const record = { ...p.record, deletedAt: new Date().toISOString() };
          const view = await writeRecord(ctx, state, p, record, "pool.delete", name);
          return view && { ok: true, deletedAt: record.deletedAt, revision: view.modRevision };
        });
        ctx.send(200, out);
      },
    },
    {
      method: "POST",
      path: "/v1/pools/:name/scale",
      summary: "Scale a pool by hand {size}, within its min and max (until the stack changes size)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const name = poolName(ctx, "write");
        const { size } = await ctx.json(PoolScaleSchema);
        const view = await retryGuarded(`pool "${name}"`, async () => {
          const state = await readPoolState(store);
          const p = poolOf(state, name);
          if (p.record.deletedAt !== undefined) throw conflict(`pool "${name}" is being deleted`);
          checkScale(name, p.record.spec, size);
          const record = { ...p.record, scaledTo: size };
          return writeRecord(ctx, state, p, record, "pool.scale", `${name}=${size}`);
        });
        ctx.send(200, view);
      },
    },
    {
      method: "POST",
      path: "/v1/pools/:name/replace",
      summary: "Replace one node of a pool {node}, or all {} — one at a time, rolling",
      handler: async (ctx) => {
        ctx.allowQuery();
        const name = poolName(ctx, "write");
        const { node } = await ctx.json(PoolReplaceSchema);
        const view = await retryGuarded(`pool "${name}"`, async () => {
          const state = await readPoolState(store);
          const p = poolOf(state, name);
          if (p.record.deletedAt !== undefined) throw conflict(`pool "${name}" is being deleted`);
          const made = await poolNodes(state, name);
          const nodes = [...made.keys()].sort();
          if (node !== undefined && !made.has(node))
            throw notFound(
              `node "${node}" of pool "${name}" (its nodes: ${nodes.join(", ") || "none"})`,
            );
          if (nodes.length === 0) throw conflict(`pool "${name}" has no nodes to replace yet`);
          const asked = node === undefined ? nodes : [node];
          const record: PoolRecord = {
            ...p.record,
            replace: {
              nodes: [...new Set([...stillPending(p.record, made), ...asked])],
              requestedAt: new Date().toISOString(),
            },
          };
          return writeRecord(ctx, state, p, record, "pool.replace", `${name}:${asked.join(",")}`);
        });
        ctx.send(200, view);
      },
    },
  ];

  /**
   * The pool's nodes, with when each was made: those the controller keeps records of, and those
   * its status lists.
   */
  async function poolNodes(
    state: PoolState,
    pool: string,
  ): Promise<Map<string, string | undefined>> {
    const prefix = `${K.poolNodes}${pool}/`;
    const res = await store.txn({ success: [{ type: "get", range: { prefix } }] });
    const made = new Map<string, string | undefined>();
    for (const n of state.statuses.get(pool)?.nodes ?? []) made.set(n.name, n.createdAt);
    for (const kv of kvsOf(res, 0)) {
      const name = kv.key.slice(prefix.length);
      made.set(name, createdAtOf(kv) ?? made.get(name));
    }
    return made;
  }
}

/**
 * The nodes of an earlier `pools:replace` not replaced yet: made before it was asked (the
 * controller's test too). A new request moves `requestedAt`, so the nodes already replaced
 * must leave the list or they would be replaced again.
 */
function stillPending(record: PoolRecord, made: ReadonlyMap<string, string | undefined>): string[] {
  const r = record.replace;
  if (r === undefined) return [];
  return r.nodes.filter((n) => {
    if (!made.has(n)) return false;
    const createdAt = made.get(n);
    return createdAt === undefined || Date.parse(createdAt) < Date.parse(r.requestedAt);
  });
}

function createdAtOf(kv: KeyValue): string | undefined {
  try {
    const v = (JSON.parse(text(kv.value)) as { createdAt?: unknown }).createdAt;
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}
