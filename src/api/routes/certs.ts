import * as z from "zod";
import { CertService } from "../../certs/service.js";
import { AppNameSchema } from "../../model/app.js";
import { allows } from "../../model/token.js";
import { parseWith } from "../../validate.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { appParam, appsOf } from "./apps-common.js";

const AddSchema = z.strictObject({
  certPem: z
    .string()
    .min(1)
    .max(256 * 1024),
  keyPem: z
    .string()
    .min(1)
    .max(64 * 1024),
  /** The file names the CLI read them from, for error messages. */
  certFile: z.string().max(4096).default("the certificate"),
  keyFile: z.string().max(4096).default("the key"),
});

/** The certificates of this server's apps (its apps service's config key seals their keys). */
export function certService(deps: ApiDeps): CertService {
  return new CertService(deps.store, appsOf(deps).secrets, deps.appDomain);
}

/** Certificates: add (checked), list (no keys), remove. */
export function certRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "POST",
      path: "/v1/apps/:app/certs",
      summary:
        "Give the app a certificate {certPem, keyPem, certFile?, keyFile?}: checked (key, validity, domains) and stored with the key encrypted",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "write");
        const body = await ctx.json(AddSchema);
        ctx.send(200, await certService(deps).add(app, body));
      },
    },
    {
      method: "GET",
      path: "/v1/certs",
      summary: "The apps' certificates: domains, issuer, expiry, source, last error (?app=NAME)",
      handler: async (ctx) => {
        ctx.allowQuery("app");
        const only = ctx.query.get("app") ?? undefined;
        if (only !== undefined) parseWith(AppNameSchema, only, "app");
        const certs = await certService(deps).list(only);
        ctx.send(200, {
          certs: certs.filter((c) => allows(ctx.who.policies, "app", c.app, "read")),
        });
      },
    },
    {
      method: "DELETE",
      path: "/v1/apps/:app/certs",
      summary: "Remove the app's certificate",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "write");
        await certService(deps).remove(app);
        ctx.send(200, { removed: app });
      },
    },
  ];
}
