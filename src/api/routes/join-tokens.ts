import { existsSync, readFileSync } from "node:fs";
import * as z from "zod";
import { HttpError } from "../../errors.js";
import { durationMs, durationSchema } from "../../model/duration.js";
import { formatJoinToken, type JoinKind, type JoinTokenRecord } from "../../model/join-token.js";
import { routerPolicies } from "../../model/policies.js";
import { K } from "../../model/keys.js";
import { NodeNameSchema } from "../../model/node.js";
import { isAdmin, parsePolicy, type Policy } from "../../model/token.js";
import { caFiles, caHash } from "../../tls/ca.js";
import type { TxnOp } from "../../store/index.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { JoinTokens } from "../join-tokens.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";

const CreateJoinToken = z
  .strictObject({
    ttl: durationSchema(1000, 365 * 24 * 3_600_000).optional(),
    uses: z.number().int().min(1).max(100_000).optional(),
    labels: z.record(z.string().max(63), z.string().max(63)).default({}),
    /** A join token for routers (`gantry router --join`): they get a router token. */
    router: z.boolean().default(false),
    /** A join token for servers (`gantry server --join`): they join the etcd cluster. */
    server: z.boolean().default(false),
  })
  .refine((b) => !(b.router && b.server), {
    message: "a join token is for routers or for servers, not both",
    path: ["server"],
  })
  .refine((b) => !b.server || Object.keys(b.labels).length === 0, {
    message: "labels are for nodes; a server join token takes none",
    path: ["labels"],
  });

/** An agent joins with its nodeName, a router with its routerName. */
const Join = z
  .strictObject({
    id: z.string().max(16),
    secret: z.string().max(256),
    nodeName: NodeNameSchema.optional(),
    routerName: NodeNameSchema.optional(),
  })
  .refine((b) => (b.nodeName === undefined) !== (b.routerName === undefined), {
    message: "give nodeName (an agent) or routerName (a router), not both",
    path: ["nodeName"],
  });

/** What the API shows of a join token: never its hash. */
function publicJoinToken(t: JoinTokenRecord): Omit<JoinTokenRecord, "secretHash"> {
  const { secretHash: _hidden, ...rest } = t;
  return rest;
}

function requireAdmin(ctx: Ctx, what: string): void {
  if (!isAdmin(ctx.who.policies)) throw forbidden(what);
}

/** The cluster CA's certificate, when this server serves HTTPS (joins need it). */
export function clusterCa(deps: ApiDeps): string {
  const path = deps.dataDir === undefined ? undefined : caFiles(deps.dataDir).cert;
  if (path === undefined || !existsSync(path))
    throw new HttpError(
      409,
      "no_tls",
      "this server has no cluster CA: join tokens need the API over HTTPS (listen beyond 127.0.0.1, or --tls)",
    );
  return readFileSync(path, "utf8");
}

/** Join tokens (k3s-style `K10<ca-hash>::<id>.<secret>`) and the join itself. */
export function joinTokenRoutes(deps: ApiDeps): RouteDef[] {
  const joins = new JoinTokens(deps.store);
  return [
    {
      method: "GET",
      path: "/v1/join-tokens",
      summary: "List join tokens (admin): expiry, uses, labels, revoked",
      handler: async (ctx) => {
        ctx.allowQuery();
        requireAdmin(ctx, "list join tokens");
        ctx.send(200, (await joins.list()).map(publicJoinToken));
      },
    },
    {
      method: "POST",
      path: "/v1/join-tokens",
      summary:
        "Create a join token (admin) {ttl?, uses?, labels?, router?, server?}; the token string is returned once",
      handler: async (ctx) => {
        ctx.allowQuery();
        requireAdmin(ctx, "create join tokens");
        const body = await ctx.json(CreateJoinToken);
        const ca = clusterCa(deps);
        const { record, secret } = await joins.create(
          {
            ...(body.ttl === undefined ? {} : { ttlMs: durationMs(body.ttl) }),
            ...(body.uses === undefined ? {} : { uses: body.uses }),
            labels: body.labels,
            ...(body.router ? { kind: "router" as const } : {}),
            ...(body.server ? { kind: "server" as const } : {}),
          },
          ctx.who.name,
          (r) => [deps.audit.entry(ctx.who, "join-token.create", r.id)],
        );
        const token = formatJoinToken({ caHash: caHash(ca), id: record.id, secret });
        ctx.send(201, { ...publicJoinToken(record), token });
      },
    },
    {
      method: "DELETE",
      path: "/v1/join-tokens/:id",
      summary: "Revoke a join token (admin): later joins with it are refused",
      handler: async (ctx) => {
        ctx.allowQuery();
        requireAdmin(ctx, "revoke join tokens");
        const id = pathParam(ctx, "id", z.string().max(16));
        const r = await joins.revoke(id, (rec) => [
          deps.audit.entry(ctx.who, "join-token.revoke", rec.id),
        ]);
        ctx.send(200, publicJoinToken(r));
      },
    },
    {
      method: "GET",
      path: "/v1/ca",
      summary:
        "The cluster CA's certificate (PEM; no token needed: a joining agent checks it against its join token's hash)",
      public: true,
      handler: (ctx) => {
        ctx.allowQuery();
        ctx.sendRaw(200, Buffer.from(clusterCa(deps)), "application/x-pem-file");
      },
    },
    {
      method: "POST",
      path: "/v1/join",
      summary:
        "Exchange a join token {id, secret, nodeName} for a node token (node:NAME:write, service::write), or a router join token {id, secret, routerName} for a router token (app, service and cert read); authenticated by the join token alone",
      public: true,
      handler: async (ctx) => {
        ctx.allowQuery();
        const address = refuseThrottledJoin(ctx, deps);
        const body = await ctx.json(Join);
        const kind: JoinKind = body.routerName === undefined ? "node" : "router";
        const joiner = body.routerName ?? body.nodeName!;
        const used = await joins.redeem(body.id, body.secret, undefined, kind);
        if ("bad" in used) {
          deps.tokens.failures.fail(address);
          throw new HttpError(
            401,
            "unauthorized",
            "the join token is not valid (unknown id or wrong secret)",
          );
        }
        if ("refused" in used) throw new HttpError(403, "join_refused", used.refused);
        const base = `${kind}-${joiner}`;
        const name =
          deps.tokens.find(base) === undefined
            ? base
            : `${base}-${Date.now().toString(36).slice(-5)}`;
        const by = { name: `join-token:${used.ok.id}`, tokenId: `join:${used.ok.id}` };
        const policies: Policy[] =
          kind === "router"
            ? routerPolicies
            : [parsePolicy(`node:${joiner}:write`), parsePolicy("service::write")];
        const { record, secret } = await deps.tokens.create(
          name,
          policies,
          by.name,
          undefined,
          (rec) => [
            deps.audit.entry(by, `${kind}.join`, `${joiner} (${rec.name})`),
            ...(kind === "node" ? nodeLabelOps(joiner, used.ok.labels) : []),
          ],
        );
        ctx.send(201, { name: record.name, secret, labels: used.ok.labels });
      },
    },
  ];
}

/** The labels a node joins with, kept for its node record (`sys/node-labels/<node>`). */
function nodeLabelOps(node: string, labels: Record<string, string>): TxnOp[] {
  if (Object.keys(labels).length === 0) return [];
  return [{ type: "put", key: K.nodeLabels + node, value: JSON.stringify(labels) }];
}

/**
 * Joins share the failed-authentication limit per client address (a join token is guessed
 * like any secret): 429 with Retry-After past it. The client's address, for recording a failure.
 */
export function refuseThrottledJoin(ctx: Ctx, deps: ApiDeps): string {
  const address = ctx.req.socket.remoteAddress ?? "unknown";
  const wait = deps.tokens.failures.retryAfter(address);
  if (wait > 0) {
    ctx.res.setHeader("retry-after", String(wait));
    throw new HttpError(429, "too_many_requests", `too many failed joins; retry in ${wait}s`);
  }
  return address;
}
