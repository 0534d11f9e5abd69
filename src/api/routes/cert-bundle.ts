import { CERTS_PREFIX, CertRecordSchema, openCert } from "../../certs/record.js";
import type { CertBundle, CertBundleEntry } from "../../model/cert-bundle.js";
import { allows } from "../../model/token.js";
import { text } from "../../store/index.js";
import { blockIfAsked } from "../blocking.js";
import { forbidden } from "../errors.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { appsOf } from "./apps-common.js";

/**
 * `GET /v1/certs/bundle`: the certificates with their keys opened, for routers on other machines.
 * Keys are secrets: only `cert` read gives them (router tokens, admin, operator). A router's
 * first read is audited (`cert.bundle`); the blocking reads after it are not, or a router would
 * write an audit entry a minute forever. Nothing of the answer is logged.
 */
export function certBundleRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/certs/bundle",
      summary:
        "Every certificate with its key (needs cert read; for routers): {certs: [{app, domains, certPem, keyPem}]} (?index&wait: block until one changes)",
      handler: async (ctx) => {
        ctx.allowQuery("index", "wait");
        // Some cert read (`cert::read`, or `cert:shop:read` for some names); admin has it all.
        if (!ctx.who.policies.some((p) => "admin" in p || p.resource === "cert"))
          throw forbidden(
            "read certificate keys: that takes cert read (gantry join-tokens create --router, or --policy cert::read)",
          );
        const box = appsOf(deps).secrets;
        await blockIfAsked(ctx, deps.store, [{ prefix: CERTS_PREFIX }], deps.closing);
        const res = await deps.store.range({ prefix: CERTS_PREFIX });
        const certs: CertBundleEntry[] = [];
        const skipped: string[] = [];
        for (const kv of res.kvs) {
          const app = kv.key.slice(CERTS_PREFIX.length);
          if (!allows(ctx.who.policies, "cert", app, "read")) continue;
          try {
            const c = openCert(box, CertRecordSchema.parse(JSON.parse(text(kv.value))));
            certs.push({ app, domains: c.domains, certPem: c.certPem, keyPem: c.keyPem });
          } catch {
            // A record that does not open is left out: the router keeps what it had for it.
            skipped.push(app);
          }
        }
        if (!ctx.query.has("index"))
          await deps.store.txn({
            success: [deps.audit.entry(ctx.who, "cert.bundle", certs.map((c) => c.app).join(","))],
          });
        const bundle: CertBundle = {
          certs,
          ...(skipped.length > 0 ? { unreadable: skipped } : {}),
        };
        ctx.send(200, bundle, {
          "x-gantry-index": String(res.revision),
          "cache-control": "no-store",
        });
      },
    },
  ];
}
