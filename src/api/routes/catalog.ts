import { failingChecks, summarize, filterInstances } from "../../catalog/filter.js";
import { catalogKey, instanceHealthPrefix } from "../../catalog/keys.js";
import {
  InstanceIdSchema,
  ServiceNameSchema,
  ServiceRegistrationSchema,
  toInstance,
} from "../../model/service.js";
import type { NodeInstanceView } from "../../model/service.js";
import { NodeNameSchema } from "../../model/node.js";
import { allows, type Policy } from "../../model/token.js";
import { blockIfAsked } from "../blocking.js";
import { checkMayRegister, registerInstances } from "../catalog-register.js";
import { readCatalog, scopeRanges, type CatalogScope } from "../../catalog/read.js";
import type { Ctx } from "../context.js";
import { notFound } from "../../errors.js";
import { forbidden } from "../errors.js";
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
        checkMayRegister(ctx.who, inst);
        const revision = await registerInstances(deps, ctx.who, [inst]);
        ctx.send(
          200,
          { ok: true, revision, instance: inst },
          { "x-gantry-index": String(revision) },
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
      summary:
        "List services: name, tags, instances, passing (?checks: with `failing`, the checks that do not pass and their output; ?index&wait to block)",
      handler: async (ctx) => {
        ctx.allowQuery("index", "wait", "checks");
        if (!readsServices(ctx.who.policies)) throw forbidden("read services");
        const { snap, headers } = await blockingRead(ctx, {});
        const visible = snap.views.filter((v) =>
          allows(ctx.who.policies, "service", v.service, "read"),
        );
        const list = summarize(visible);
        if (!ctx.flag("checks")) return ctx.send(200, list, headers);
        const failing = failingChecks(visible);
        ctx.send(
          200,
          list.map((s) => ({ ...s, failing: failing.get(s.name) ?? [] })),
          headers,
        );
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
