import { allows } from "../../model/token.js";
import { CreateSessionSchema, SessionIdSchema, type SessionRecord } from "../../model/session.js";
import { ValidationError } from "../../errors.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { Sessions } from "../sessions.js";
import type { ApiDeps, RouteDef } from "../server.js";

/** The session named in the path, checked: 400 when malformed, 404 when gone, 403 without `access`. */
async function pathSession(
  ctx: Ctx,
  sessions: Sessions,
  access: "read" | "write",
): Promise<SessionRecord> {
  const id = ctx.params["id"] ?? "";
  if (!SessionIdSchema.safeParse(id).success)
    throw new ValidationError("id must be a session id (a UUID)", "id");
  const rec = await sessions.require(id);
  if (!allows(ctx.who.policies, "session", rec.name, access))
    throw forbidden(`${access === "read" ? "read" : "change"} session "${rec.name}"`);
  return rec;
}

export function sessionRoutes(deps: ApiDeps): RouteDef[] {
  const sessions = new Sessions(deps.store, deps.audit);
  return [
    {
      method: "POST",
      path: "/v1/sessions",
      summary:
        'Create a session bound to a lease: {name?, ttl? ("15s", 1s–24h), behavior? ("release"|"delete")}',
      handler: async (ctx) => {
        ctx.allowQuery();
        const body = (await ctx.json(CreateSessionSchema)) ?? {};
        const name = body.name ?? "";
        if (!allows(ctx.who.policies, "session", name, "write"))
          throw forbidden(`create session "${name}"`);
        const rec = await sessions.create(ctx.who, body);
        ctx.send(201, rec);
      },
    },
    {
      method: "GET",
      path: "/v1/sessions",
      summary: "List live sessions (those the token may read)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const p = ctx.who.policies;
        if (!p.some((x) => "admin" in x || x.resource === "session"))
          throw forbidden("read sessions");
        const all = await sessions.list();
        ctx.send(
          200,
          all.filter((s) => allows(p, "session", s.name, "read")),
        );
      },
    },
    {
      method: "GET",
      path: "/v1/sessions/:id",
      summary: "One session: its record, seconds until it expires, and the lock keys it holds",
      handler: async (ctx) => {
        ctx.allowQuery();
        const rec = await pathSession(ctx, sessions, "read");
        ctx.send(200, await sessions.view(rec));
      },
    },
    {
      method: "PUT",
      path: "/v1/sessions/:id/renew",
      summary: "Keep a session alive for another TTL (404 session_not_found once it has expired)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const rec = await pathSession(ctx, sessions, "write");
        ctx.send(200, await sessions.renew(rec.id));
      },
    },
    {
      method: "DELETE",
      path: "/v1/sessions/:id",
      summary: "Destroy a session now; its locks are released (behavior release) or deleted",
      handler: async (ctx) => {
        ctx.allowQuery();
        const rec = await pathSession(ctx, sessions, "write");
        const res = await sessions.destroy(ctx.who, rec);
        ctx.send(200, { ok: true, id: rec.id, ...res });
      },
    },
  ];
}
