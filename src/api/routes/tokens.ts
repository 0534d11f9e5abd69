import * as z from "zod";
import { ValidationError } from "../../errors.js";
import { durationMs, durationSchema } from "../../model/duration.js";
import { rolePolicies, ROLES } from "../../model/roles.js";
import {
  isAdmin,
  PolicySchema,
  TokenNameSchema,
  type Policy,
  type TokenRecord,
} from "../../model/token.js";
import { forbidden } from "../errors.js";
import type { Ctx } from "../context.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";

const MAX_TTL_MS = 10 * 365 * 24 * 3_600_000;

/** A token from a role (with apps for deployer) and/or policies; `ttl` makes it expire. */
const CreateToken = z.strictObject({
  name: TokenNameSchema,
  policies: z.array(PolicySchema).max(64).default([]),
  role: z.enum(ROLES).optional(),
  apps: z.array(z.string()).max(64).default([]),
  ttl: durationSchema(1000, MAX_TTL_MS).optional(),
});

/** The policies a create request asks for: its role's, then its own. */
function requestedPolicies(body: z.infer<typeof CreateToken>): Policy[] {
  if (body.role === undefined && body.apps.length > 0)
    throw new ValidationError("apps need a role (deployer)", "apps");
  const policies = [
    ...(body.role === undefined ? [] : rolePolicies(body.role, body.apps, "role")),
    ...body.policies,
  ];
  if (policies.length === 0) throw new ValidationError("give a role or policies", "policies");
  return policies;
}

const UpdateToken = z.strictObject({ policies: z.array(PolicySchema).min(1).max(64) });

/** What the API shows of a token: never its secret or hash. */
export function publicToken(t: TokenRecord): Omit<TokenRecord, "secretHash"> {
  const { secretHash: _hidden, ...rest } = t;
  return rest;
}

function requireAdmin(ctx: Ctx, what: string): void {
  if (!isAdmin(ctx.who.policies)) throw forbidden(what);
}

export function tokenRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/tokens",
      summary: "List tokens (admin)",
      handler: (ctx) => {
        ctx.allowQuery();
        requireAdmin(ctx, "list tokens");
        ctx.send(
          200,
          deps.tokens
            .list()
            .map((t) => ({ ...publicToken(t), modRevision: deps.tokens.revisionOf(t.id) })),
        );
      },
    },
    {
      method: "GET",
      path: "/v1/tokens/self",
      summary: "The calling token",
      handler: (ctx) => {
        ctx.allowQuery();
        const rec = deps.tokens.find(ctx.who.tokenId);
        ctx.send(
          200,
          rec === undefined
            ? { id: ctx.who.tokenId, name: ctx.who.name, policies: ctx.who.policies }
            : publicToken(rec),
        );
      },
    },
    {
      method: "POST",
      path: "/v1/tokens",
      summary:
        "Create a token (admin) {name, role?, apps?, policies?, ttl?}; the secret is returned once",
      handler: async (ctx) => {
        ctx.allowQuery();
        requireAdmin(ctx, "create tokens");
        const body = await ctx.json(CreateToken);
        const policies = requestedPolicies(body);
        const { record, secret } = await deps.tokens.create(
          body.name,
          policies,
          ctx.who.name,
          undefined,
          (rec) => [deps.audit.entry(ctx.who, "token.create", rec.name)],
          {
            ...(body.role === undefined ? {} : { role: body.role }),
            ...(body.apps.length === 0 ? {} : { apps: body.apps }),
            ...(body.ttl === undefined
              ? {}
              : { expiresAt: new Date(Date.now() + durationMs(body.ttl)).toISOString() }),
          },
        );
        ctx.send(201, { ...publicToken(record), secret });
      },
    },
    {
      method: "PUT",
      path: "/v1/tokens/:id",
      summary: "Replace a token's policies (admin); its secret stays",
      handler: async (ctx) => {
        ctx.allowQuery();
        requireAdmin(ctx, "change tokens");
        const body = await ctx.json(UpdateToken);
        const rec = await deps.tokens.update(
          pathParam(ctx, "id", z.string()),
          body.policies,
          (r) => [deps.audit.entry(ctx.who, "token.update", r.name)],
        );
        ctx.send(200, publicToken(rec));
      },
    },
    {
      method: "POST",
      path: "/v1/tokens/:id/rotate",
      summary: "Give a token a new secret (admin), returned once; the old one stops working",
      handler: async (ctx) => {
        ctx.allowQuery();
        requireAdmin(ctx, "rotate tokens");
        const { record, secret } = await deps.tokens.rotate(
          pathParam(ctx, "id", z.string()),
          (r) => [deps.audit.entry(ctx.who, "token.rotate", r.name)],
        );
        ctx.send(200, { ...publicToken(record), secret });
      },
    },
    {
      method: "DELETE",
      path: "/v1/tokens/:id",
      summary: "Revoke a token by id or name (admin)",
      handler: async (ctx) => {
        ctx.allowQuery();
        requireAdmin(ctx, "revoke tokens");
        const rec = await deps.tokens.revoke(pathParam(ctx, "id", z.string()), (r) => [
          deps.audit.entry(ctx.who, "token.revoke", r.name),
        ]);
        ctx.send(200, publicToken(rec));
      },
    },
  ];
}
