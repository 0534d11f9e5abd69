import { summarize, filterInstances } from "../../catalog/filter.js";
import { catalogKey, instanceHealthPrefix } from "../../catalog/keys.js";
import {
  InstanceIdSchema,
  ServiceNameSchema,
  ServiceRegistrationSchema,
  toInstance,
} from "../../model/service.js";
import type { NodeInstanceView, ServiceInstance } from "../../model/service.js";
import { NodeNameSchema } from "../../model/node.js";
import { allows, type Policy } from "../../model/token.js";
import type { TxnOp } from "../../store/index.js";
import { blockIfAsked } from "../blocking.js";
import { readCatalog, scopeRanges, parseInstance, type CatalogScope } from "../catalog-read.js";
import type { Ctx } from "../context.js";
import { forbidden, notFound } from "../errors.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";

const readsServices = (policies: readonly Policy[]): boolean =>
  policies.some((p) => "admin" in p || p.resource === "service");

export function catalogRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;

  /** Block when asked (?index&wait), then read; the answer carries X-Gantry-Index. */
  const blockingRead = async (ctx: Ctx, scope: CatalogScope) => {
    await blockIfAsked(ctx, store, scopeRanges(scope), deps.closing);
    const snap = await readCatalog(store, scope);
    return { snap, headers: { "x-gantry-index": String(snap.revision) } };
  };

  return [
    {
      method: "PUT",
      path: "/v1/catalog/register",
      summary: "Register (or update) a service instance; the body is a ServiceRegistration",
      handler: async (ctx) => {
        ctx.allowQuery();
        const inst = toInstance(await ctx.json(ServiceRegistrationSchema));
        if (!allows(ctx.who.policies, "service", inst.service, "write"))
          throw forbidden(`register service "${inst.service}"`);
        // An exec check runs a command on the node: that takes the right to write the node.
        if (
          inst.checks.some((c) => c.type === "exec") &&
          !allows(ctx.who.policies, "node", inst.node, "write")
        )
          throw forbidden(
            `register exec checks on node "${inst.node}" (they run commands there; needs node:${inst.node}:write)`,
          );
        const key = catalogKey(inst.service, inst.id);
        const prefix = instanceHealthPrefix(inst.service, inst.id);
        const before = await store.txn({
          success: [
            { type: "get", range: key },
            { type: "get", range: { prefix }, keysOnly: true },
          ],
        });
        const [oldGet, healthGet] = before.results;
        const old =
          oldGet?.type === "get" && oldGet.kvs[0] ? parseInstance(oldGet.kvs[0]) : undefined;
        const stale = (healthGet?.type === "get" ? healthGet.kvs : [])
          .map((kv) => kv.key)
          .filter((k) => isStale(k.slice(prefix.length), inst, old));
        const ops: TxnOp[] = [
          { type: "put", key, value: JSON.stringify(inst) },
          ...stale.map((k): TxnOp => ({ type: "delete", range: k })),
          deps.audit.entry(ctx.who, "service.register", `${inst.service}/${inst.id}`),
        ];
        const res = await store.txn({ success: ops });
        ctx.send(
          200,
          { ok: true, revision: res.revision, instance: inst },
          { "x-gantry-index": String(res.revision) },
        );
      },
    },
    {
      method: "DELETE",
      path: "/v1/catalog/deregister/:service/:id",
      summary: "Remove a service instance and its health results",
      handler: async (ctx) => {
        ctx.allowQuery();
        const service = pathParam(ctx, "service", ServiceNameSchema);
        const id = pathParam(ctx, "id", InstanceIdSchema);
        if (!allows(ctx.who.policies, "service", service, "write"))
          throw forbidden(`deregister service "${service}"`);
        const key = catalogKey(service, id);
        const res = await store.txn({
          compare: [{ key, target: "version", op: ">", value: 0 }],
          success: [
            { type: "delete", range: key },
            { type: "delete", range: { prefix: instanceHealthPrefix(service, id) } },
            deps.audit.entry(ctx.who, "service.deregister", `${service}/${id}`),
          ],
        });
        if (!res.succeeded) throw notFound(`instance "${id}" of service "${service}"`);
        ctx.send(
          200,
          { ok: true, revision: res.revision },
          { "x-gantry-index": String(res.revision) },
        );
      },
    },
    {
      method: "GET",
      path: "/v1/catalog/services",
      summary: "List services: name, tags, instances, passing (?index&wait to block)",
      handler: async (ctx) => {
        ctx.allowQuery("index", "wait");
        if (!readsServices(ctx.who.policies)) throw forbidden("read services");
        const { snap, headers } = await blockingRead(ctx, {});
        const visible = snap.views.filter((v) =>
          allows(ctx.who.policies, "service", v.service, "read"),
        );
        ctx.send(200, summarize(visible), headers);
      },
    },
    {
      method: "GET",
      path: "/v1/catalog/service/:name",
      summary: "Instances of a service with their health (?passing, ?tag=T, ?index&wait to block)",
      handler: async (ctx) => {
        ctx.allowQuery("passing", "tag", "index", "wait");
        const name = pathParam(ctx, "name", ServiceNameSchema);
        if (!allows(ctx.who.policies, "service", name, "read"))
          throw forbidden(`read service "${name}"`);
        const passing = ctx.flag("passing");
        const tag = ctx.query.get("tag") ?? undefined;
        const { snap, headers } = await blockingRead(ctx, { service: name });
        ctx.send(
          200,
          filterInstances(snap.views, { passing, ...(tag === undefined ? {} : { tag }) }),
          headers,
        );
      },
    },
    {
      method: "GET",
      path: "/v1/catalog/node/:node",
      summary:
        "Instances registered on a node, with check definitions and results (for agents; ?index&wait)",
      handler: async (ctx) => {
        ctx.allowQuery("index", "wait");
        const node = pathParam(ctx, "node", NodeNameSchema);
        if (!allows(ctx.who.policies, "node", node, "read")) throw forbidden(`read node "${node}"`);
        const { snap, headers } = await blockingRead(ctx, { node });
        const byKey = new Map(snap.instances.map((i) => [`${i.service}/${i.id}`, i]));
        const answer: NodeInstanceView[] = filterInstances(snap.views)
          .filter((v) => allows(ctx.who.policies, "service", v.service, "read"))
          .map((v) => ({ ...v, definitions: byKey.get(`${v.service}/${v.id}`)!.checks }));
        ctx.send(200, answer, headers);
      },
    },
  ];
}

/** A stored result no longer applies when its check is gone, changed type, or got another TTL. */
function isStale(
  checkId: string,
  next: ServiceInstance,
  prev: ServiceInstance | undefined,
): boolean {
  const now = next.checks.find((c) => c.id === checkId);
  if (now === undefined) return true;
  const before = prev?.checks.find((c) => c.id === checkId);
  if (before === undefined) return false;
  if (before.type !== now.type) return true;
  // A TTL result lives on a lease of the old TTL.
  return before.type === "ttl" && now.type === "ttl" && before.ttl !== now.ttl;
}
