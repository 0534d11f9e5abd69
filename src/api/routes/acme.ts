import * as z from "zod";
import { parseRecord, readApp } from "../../apps/records.js";
import { ACME_KEYS, Http01Schema } from "../../certs/acme-state.js";
import { notFound } from "../../errors.js";
import { allowsPrefix } from "../../model/token.js";
import { forbidden } from "../errors.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { appParam } from "./apps-common.js";

const AutoSchema = z.strictObject({ auto: z.boolean() });
const TokenSchema = z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, "must be an ACME token (base64url)");

/** ACME: the HTTP-01 key authorizations routers answer the CA with. */
export function acmeRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/acme/http01/:token",
      summary:
        "The key authorization of a pending ACME HTTP-01 challenge, for routers (a token that reads every app)",
      handler: async (ctx) => {
        ctx.allowQuery();
        // Routers read every app; a token scoped to some apps has no business with challenges.
        if (!allowsPrefix(ctx.who.policies, "app", "", "read"))
          throw forbidden("read ACME challenges (needs read on every app)");
        const token = pathParam(ctx, "token", TokenSchema);
        const rec = parseRecord(await deps.store.get(ACME_KEYS.http01 + token), Http01Schema);
        if (rec === undefined) throw notFound(`ACME challenge "${token}"`);
        ctx.send(200, { keyAuthorization: rec.keyAuthorization });
      },
    },
    {
      method: "PUT",
      path: "/v1/apps/:app/acme",
      summary: "Whether the app gets certificates by ACME {auto} (default true; false opts it out)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "write");
        const { auto } = await ctx.json(AutoSchema);
        await readApp(deps.store, app);
        if (auto) await deps.store.delete(ACME_KEYS.off + app);
        else
          await deps.store.put(
            ACME_KEYS.off + app,
            JSON.stringify({ at: new Date().toISOString() }),
          );
        ctx.send(200, { app, auto });
      },
    },
  ];
}
