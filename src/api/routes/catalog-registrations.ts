import * as z from "zod";
import { K } from "../../model/keys.js";
import { ServiceRegistrationSchema, toInstance } from "../../model/service.js";
import { allows, type Policy } from "../../model/token.js";
import { checkMayRegister, registerInstances } from "../catalog-register.js";
import { parseInstance } from "../../catalog/read.js";
import { ValidationError } from "../../errors.js";
import { forbidden } from "../errors.js";
import type { ApiDeps, RouteDef } from "../server.js";

const readsServices = (policies: readonly Policy[]): boolean =>
  policies.some((p) => "admin" in p || p.resource === "service");

/** Instances registered by one request at most (each is two reads of one transaction). */
const MAX_PER_REQUEST = 64;

/**
 * The catalog's registrations as stored (check definitions, not results), each with its store
 * revision, in one read; and many registered in one request. What the stack engine compares a
 * `services:` section with, and applies it through.
 */
export function catalogRegistrationRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/catalog/registrations",
      summary: "Every registered instance as stored (definitions), with its modRevision",
      handler: async (ctx) => {
        ctx.allowQuery();
        if (!readsServices(ctx.who.policies)) throw forbidden("read services");
        const res = await deps.store.range({ prefix: K.catalog });
        const out = res.kvs.flatMap((kv) => {
          const inst = parseInstance(kv);
          if (inst === undefined || !allows(ctx.who.policies, "service", inst.service, "read"))
            return [];
          return [{ ...inst, modRevision: kv.modRevision }];
        });
        ctx.send(200, out, { "x-gantry-index": String(res.revision) });
      },
    },
    {
      method: "PUT",
      path: "/v1/catalog/registrations",
      summary: `Register (or update) up to ${MAX_PER_REQUEST} instances at once: a list of registrations, all or none checked first`,
      handler: async (ctx) => {
        ctx.allowQuery();
        const regs = await ctx.json(z.array(ServiceRegistrationSchema).min(1).max(MAX_PER_REQUEST));
        const insts = regs.map(toInstance);
        const seen = new Set<string>();
        insts.forEach((inst, i) => {
          checkMayRegister(ctx.who, inst);
          const key = `${inst.service}/${inst.id}`;
          if (seen.has(key))
            throw new ValidationError(`${key} is registered twice in this request`, `${i}.id`);
          seen.add(key);
        });
        const revision = await registerInstances(deps, ctx.who, insts);
        ctx.send(
          200,
          { ok: true, revision, instances: insts },
          { "x-gantry-index": String(revision) },
        );
      },
    },
  ];
}
