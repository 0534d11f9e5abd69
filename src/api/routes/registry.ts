import { HttpError } from "../../errors.js";
import { allows, isAdmin } from "../../model/token.js";
import { AppNameSchema } from "../../model/app.js";
import { parseWith } from "../../validate.js";
import {
  RegistryService,
  REGISTRY_SERVICE,
  grantScopes,
  repositoryPolicy,
} from "../../registry/index.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import type { ApiDeps, RouteDef } from "../server.js";

/** Registry tokens live five minutes; docker asks again when one runs out. */
const TOKEN_TTL_SECONDS = 300;

/** The registry service, or 404 when this server runs none; `running`: it must answer now (else 503). */
function registryOf(deps: ApiDeps, running = false): RegistryService {
  const reg = deps.registry;
  if (!(reg instanceof RegistryService))
    throw new HttpError(
      404,
      "not_found",
      "this server runs no registry (docker-registry is not installed, or --no-registry)",
    );
  if (running && !reg.running)
    throw new HttpError(
      503,
      "unavailable",
      "the registry is not running (starting, or restarting)",
    );
  return reg;
}

export function registryRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/registry",
      summary: "Gantry's image registry: its address and whether it runs",
      handler: (ctx) => {
        ctx.allowQuery();
        const reg = deps.registry;
        // A handle given from outside (a test's bare registry) is taken to be up.
        const running = reg instanceof RegistryService ? reg.running : reg !== undefined;
        ctx.send(200, { address: reg?.address ?? null, running });
      },
    },
    {
      method: "GET",
      path: "/v1/registry/token",
      // Authenticated like every route, by the API's own auth: docker sends the Gantry token as
      // the Basic password (any user name), which authenticate() reads like a Bearer token.
      // Bad or missing credentials are 401 here; a valid token without rights gets a registry
      // token with no access, so the registry itself answers the push with 401/403.
      summary:
        "A registry bearer token (docker's token auth): Basic auth with any user and a Gantry token as password; scopes granted from the token's policies",
      handler: (ctx) => issue(ctx, deps),
    },
    {
      method: "GET",
      path: "/v1/images",
      summary:
        "The registry's images (tags, digest, size, the releases using each); ?app= for one app",
      handler: async (ctx) => {
        ctx.allowQuery("app");
        const reg = registryOf(deps, true);
        const app = ctx.query.get("app");
        const who = ctx.who;
        if (app !== null) {
          parseWith(AppNameSchema, app, "app");
          if (!allows(who.policies, "app", app, "read")) throw forbidden(`read app "${app}"`);
          ctx.send(200, await reg.images([app]));
          return;
        }
        const all = await reg.images();
        ctx.send(
          200,
          all.filter((img) => {
            if (isAdmin(who.policies)) return true;
            const owner = repositoryPolicy(img.repository);
            return owner !== undefined && allows(who.policies, owner.resource, owner.name, "read");
          }),
        );
      },
    },
    {
      method: "POST",
      path: "/v1/registry/prune",
      summary:
        "Apply image retention to every app now, then garbage-collect (registry read-only meanwhile); ?gc=always collects even when nothing was deleted (admin)",
      handler: async (ctx) => {
        ctx.allowQuery("gc");
        if (!isAdmin(ctx.who.policies)) throw forbidden("prune the registry");
        const reg = registryOf(deps, true);
        const gc = ctx.query.get("gc");
        if (gc !== null && gc !== "always" && gc !== "auto")
          throw new HttpError(400, "invalid_argument", "gc must be always or auto", "gc");
        await deps.store.txn({
          success: [deps.audit.entry(ctx.who, "registry.prune", "registry")],
        });
        ctx.send(200, await reg.prune({ gc: gc === "always" ? "always" : "auto" }));
      },
    },
  ];
}

function issue(ctx: Ctx, deps: ApiDeps): void {
  for (const key of ctx.query.keys()) {
    if (!["service", "scope", "account", "client_id", "offline_token"].includes(key))
      throw new HttpError(400, "invalid_argument", `unknown query parameter "${key}"`, key);
  }
  const service = ctx.query.get("service");
  if (service !== null && service !== REGISTRY_SERVICE)
    throw new HttpError(
      400,
      "invalid_argument",
      `service must be ${REGISTRY_SERVICE}, got "${service}"`,
      "service",
    );
  const reg = registryOf(deps);
  const who = ctx.who;
  const access = grantScopes(who.policies, ctx.query.getAll("scope"));
  const token = reg.issueToken(who.name, access, TOKEN_TTL_SECONDS);
  ctx.send(200, {
    token,
    access_token: token,
    expires_in: TOKEN_TTL_SECONDS,
    issued_at: new Date().toISOString(),
  });
}
