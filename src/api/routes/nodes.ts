import { drainKey, nodeKey } from "../../catalog/keys.js";
import { kvsOf } from "../../apps/records.js";
import { nodeInstances } from "../../apps/node-instances.js";
import { ValidationError, notFound } from "../../errors.js";
import { K } from "../../model/keys.js";
import {
  NodeJoinSchema,
  NodeNameSchema,
  type NodeDrain,
  type NodeListEntry,
  type NodeRecord,
  type NodeView,
} from "../../model/node.js";
import { allows } from "../../model/token.js";
import { LeaseNotFoundError, text, type KeyValue } from "../../store/index.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";

const toView = (kv: KeyValue): NodeView | undefined => {
  try {
    return { ...(JSON.parse(text(kv.value)) as NodeRecord), lease: kv.lease };
  } catch {
    return undefined;
  }
};

const parseLabels = (kv: KeyValue): Record<string, string> => {
  try {
    return JSON.parse(text(kv.value)) as Record<string, string>;
  } catch {
    return {};
  }
};

/** `GET /v1/nodes/:name?instances`: the node (live or down), whether it drains, its instances. */
async function nodeWithInstances(deps: ApiDeps, ctx: Ctx, name: string) {
  const res = await deps.store.txn({
    success: [
      { type: "get", range: nodeKey(name) },
      { type: "get", range: drainKey(name) },
      { type: "get", range: K.nodeLabels + name },
    ],
  });
  const { instances } = await nodeInstances(deps.store, name, (app) =>
    allows(ctx.who.policies, "app", app, "read"),
  );
  const kv = kvsOf(res, 0)[0];
  const view = kv === undefined ? undefined : toView(kv);
  const draining = kvsOf(res, 1).length > 0;
  if (view !== undefined)
    return { ...view, status: draining ? "draining" : "ready", assigned: instances };
  if (instances.length === 0) throw notFound(`node "${name}"`);
  const labels = kvsOf(res, 2)[0];
  return {
    name,
    status: "down",
    ...(draining ? { draining: true } : {}),
    ...(labels === undefined ? {} : { labels: parseLabels(labels) }),
    assigned: instances,
  };
}

/**
 * Nodes join with their facts on a lease they keep alive (heartbeat): a node whose agent stops
 * heartbeating disappears from `nodes/` after its TTL, and the catalog then counts the checks it
 * ran as critical. Agents use these routes exactly like any other client.
 */
export function nodeRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;

  const nodeName = (ctx: Ctx, access: "read" | "write"): string => {
    const name = pathParam(ctx, "name", NodeNameSchema);
    if (!allows(ctx.who.policies, "node", name, access))
      throw forbidden(`${access} node "${name}"`);
    return name;
  };

  const leaseParam = (ctx: Ctx, required: boolean): string | undefined => {
    const lease = ctx.query.get("lease") ?? undefined;
    if (lease === undefined && required) throw new ValidationError("lease is required", "lease");
    if (lease !== undefined && !/^[0-9]{1,20}$/.test(lease))
      throw new ValidationError("lease must be a lease id", "lease");
    return lease;
  };

  return [
    {
      method: "PUT",
      path: "/v1/nodes/:name",
      summary: "Join: register a node {facts, ttl} on a new lease; answers {name, lease, ttl}",
      handler: async (ctx) => {
        ctx.allowQuery();
        const name = nodeName(ctx, "write");
        const join = await ctx.json(NodeJoinSchema);
        const labels = await store.get(K.nodeLabels + name);
        const lease = await store.grantLease(join.ttl);
        const record: NodeRecord = {
          name,
          facts: join.facts,
          ttl: join.ttl,
          joinedAt: new Date().toISOString(),
          ...(labels === undefined
            ? {}
            : { labels: JSON.parse(text(labels.value)) as Record<string, string> }),
        };
        try {
          await store.txn({
            success: [
              { type: "put", key: nodeKey(name), value: JSON.stringify(record), lease: lease.id },
              deps.audit.entry(ctx.who, "node.join", name),
            ],
          });
        } catch (err) {
          await store.revokeLease(lease.id).catch(() => undefined);
          throw err;
        }
        ctx.send(200, { name, lease: lease.id, ttl: lease.ttl });
      },
    },
    {
      method: "PUT",
      path: "/v1/nodes/:name/heartbeat",
      summary:
        "Keep a node's lease alive (?lease=ID from the join); 404 when the node must join again",
      handler: async (ctx) => {
        ctx.allowQuery("lease");
        const name = nodeName(ctx, "write");
        const lease = leaseParam(ctx, true)!;
        const kv = await store.get(nodeKey(name), { keysOnly: true });
        if (kv === undefined || kv.lease !== lease)
          throw notFound(`node "${name}" on lease ${lease}`);
        try {
          ctx.send(200, { ttl: await store.keepAlive(lease) });
        } catch (err) {
          if (err instanceof LeaseNotFoundError) throw notFound(`node "${name}" on lease ${lease}`);
          throw err;
        }
      },
    },
    {
      method: "DELETE",
      path: "/v1/nodes/:name",
      summary: "Leave: remove a node now (?lease=ID: only while it is still on that lease)",
      handler: async (ctx) => {
        ctx.allowQuery("lease");
        const name = nodeName(ctx, "write");
        const lease = leaseParam(ctx, false);
        const key = nodeKey(name);
        const res = await store.txn({
          compare:
            lease === undefined
              ? [{ key, target: "version", op: ">", value: 0 }]
              : [{ key, target: "lease", op: "==", value: lease }],
          success: [{ type: "delete", range: key }, deps.audit.entry(ctx.who, "node.leave", name)],
        });
        if (!res.succeeded)
          throw notFound(`node "${name}"${lease === undefined ? "" : ` on lease ${lease}`}`);
        if (lease !== undefined) await store.revokeLease(lease).catch(() => undefined);
        ctx.send(200, { ok: true, revision: res.revision });
      },
    },
    {
      method: "PUT",
      path: "/v1/nodes/:name/drain",
      summary:
        "Drain a node: it takes no new instances, and each of its instances starts on another node before it stops",
      handler: async (ctx) => {
        ctx.allowQuery();
        const name = nodeName(ctx, "write");
        // A node that is neither live nor assigned anything is most likely a typo.
        const known = await store.txn({
          success: [
            { type: "get", range: nodeKey(name), keysOnly: true },
            {
              type: "get",
              range: { prefix: `${K.assignments}${name}/` },
              keysOnly: true,
              limit: 1,
            },
          ],
        });
        if (kvsOf(known, 0).length === 0 && kvsOf(known, 1).length === 0)
          throw notFound(`node "${name}"`);
        const record: NodeDrain = { node: name, since: new Date().toISOString(), by: ctx.who.name };
        const key = drainKey(name);
        // Draining again keeps the first record (and its `since`).
        const res = await store.txn({
          compare: [{ key, target: "version", op: "==", value: 0 }],
          success: [
            { type: "put", key, value: JSON.stringify(record) },
            deps.audit.entry(ctx.who, "node.drain", name),
          ],
        });
        ctx.send(200, {
          ok: true,
          draining: true,
          already: !res.succeeded,
          revision: res.revision,
        });
      },
    },
    {
      method: "DELETE",
      path: "/v1/nodes/:name/drain",
      summary: "Stop draining a node: it takes new instances again",
      handler: async (ctx) => {
        ctx.allowQuery();
        const name = nodeName(ctx, "write");
        const key = drainKey(name);
        const res = await store.txn({
          compare: [{ key, target: "version", op: ">", value: 0 }],
          success: [
            { type: "delete", range: key },
            deps.audit.entry(ctx.who, "node.undrain", name),
          ],
        });
        ctx.send(200, {
          ok: true,
          draining: false,
          already: !res.succeeded,
          revision: res.revision,
        });
      },
    },
    {
      method: "GET",
      path: "/v1/nodes",
      summary:
        "Live nodes and their facts (?all: with their instance counts, and the nodes that are down)",
      handler: async (ctx) => {
        ctx.allowQuery("all");
        const all = ctx.query.has("all");
        // Assignments and drains are read only for ?all, in the same revision as the nodes.
        const res = await store.txn({
          success: [
            { type: "get", range: { prefix: K.nodes } },
            ...(all
              ? [
                  { type: "get" as const, range: { prefix: K.assignments }, keysOnly: true },
                  { type: "get" as const, range: { prefix: K.drains }, keysOnly: true },
                  // A down node's join labels (a pool node's pool and address) are still shown.
                  { type: "get" as const, range: { prefix: K.nodeLabels } },
                ]
              : []),
          ],
        });
        const readable = (name: string): boolean => allows(ctx.who.policies, "node", name, "read");
        const nodes = kvsOf(res, 0)
          .map(toView)
          .filter((n): n is NodeView => n !== undefined && readable(n.name));
        const headers = { "x-gantry-index": String(res.revision) };
        if (!all) return ctx.send(200, nodes, headers);
        // assignments/<node>/<id>: how many each node holds.
        const assigned = new Map<string, number>();
        for (const kv of kvsOf(res, 1)) {
          const node = kv.key.slice(K.assignments.length).split("/")[0]!;
          assigned.set(node, (assigned.get(node) ?? 0) + 1);
        }
        const drains = new Set(kvsOf(res, 2).map((kv) => kv.key.slice(K.drains.length)));
        const entries: NodeListEntry[] = nodes.map((n) => ({
          ...n,
          status: drains.has(n.name) ? "draining" : "ready",
          instances: assigned.get(n.name) ?? 0,
        }));
        const live = new Set(nodes.map((n) => n.name));
        const labels = new Map(
          kvsOf(res, 3).map((kv) => [kv.key.slice(K.nodeLabels.length), kv] as const),
        );
        for (const [name, instances] of assigned)
          if (!live.has(name) && readable(name)) {
            const joined = labels.get(name);
            entries.push({
              name,
              status: "down",
              instances,
              ...(drains.has(name) ? { draining: true as const } : {}),
              ...(joined === undefined ? {} : { labels: parseLabels(joined) }),
            });
          }
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        ctx.send(200, entries, headers);
      },
    },
    {
      method: "GET",
      path: "/v1/nodes/:name",
      summary:
        "One live node and its facts (?instances: also a down node, with its status and `assigned`, the instances on it as ps shows them)",
      handler: async (ctx) => {
        ctx.allowQuery("instances");
        const name = nodeName(ctx, "read");
        if (ctx.flag("instances")) return ctx.send(200, await nodeWithInstances(deps, ctx, name));
        const kv = await store.get(nodeKey(name));
        const view = kv === undefined ? undefined : toView(kv);
        if (view === undefined) throw notFound(`node "${name}"`);
        ctx.send(200, view);
      },
    },
  ];
}
