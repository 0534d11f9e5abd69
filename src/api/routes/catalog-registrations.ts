import { K } from "../../model/keys.js";
import { allows, type Policy } from "../../model/token.js";
import { parseInstance } from "../catalog-read.js";
import { forbidden } from "../errors.js";
import type { ApiDeps, RouteDef } from "../server.js";

const readsServices = (policies: readonly Policy[]): boolean =>
  policies.some((p) => "admin" in p || p.resource === "service");

/**
 * The catalog's registrations as stored (check definitions, not results), each with its store
 * revision, in one read: what the stack engine compares a `services:` section with.
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
  ];
}
