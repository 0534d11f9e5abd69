import * as z from "zod";
import { HttpError } from "../../errors.js";
import { tokenOf } from "../auth.js";
import type { Ctx } from "../context.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { sessionInfo, setCookie } from "../ui-records.js";
import { UI_SECURITY_HEADERS } from "../ui-static.js";
import { apiBase } from "./apps-common.js";

const Login = z.strictObject({ token: z.string().min(1).max(512) });
const NoBody = z.strictObject({}).nullable();

const secure = (ctx: Ctx): boolean =>
  "encrypted" in ctx.req.socket && ctx.req.socket.encrypted === true;

function redirect(ctx: Ctx, location: string, cookie?: string): void {
  ctx.res.writeHead(303, {
    ...UI_SECURITY_HEADERS,
    location,
    "cache-control": "no-store",
    "content-length": 0,
    ...(cookie === undefined ? {} : { "set-cookie": cookie }),
  });
  ctx.res.end();
}

/**
 * The dashboard's logins (docs/ui.md, "Logging in"): one-time links made with a token
 * (`gantry ui`), a token typed into the login page, the session and logout; and the dashboard's
 * files at /ui.
 */
export function uiAuthRoutes(deps: ApiDeps): RouteDef[] {
  const sessions = deps.uiSessions;
  return [
    {
      method: "POST",
      path: "/v1/ui/links",
      summary:
        "A one-time dashboard login link for the calling token: {url, expiresAt} (5 minutes, works once)",
      handler: async (ctx) => {
        ctx.allowQuery();
        await ctx.json(NoBody);
        ctx.send(201, await sessions.createLink(ctx.who, apiBase(ctx, deps)));
      },
    },
    {
      method: "POST",
      path: "/v1/ui/login",
      summary:
        "Log in to the dashboard with a token {token}: sets the session cookie (no token needed; failures are rate-limited)",
      public: true,
      handler: async (ctx) => {
        ctx.allowQuery();
        // A form cannot send JSON across sites: this keeps other sites from logging a browser in.
        if (!/^application\/json\b/i.test(ctx.req.headers["content-type"] ?? ""))
          throw new HttpError(415, "unsupported_media_type", "send {token} as application/json");
        const body = await ctx.json(Login);
        const token = tokenOf(body.token, ctx.req, deps.tokens, ctx.res);
        const { cookie, session } = await sessions.loginWithToken(token);
        ctx.send(200, sessionInfo(session.record, token), {
          "set-cookie": setCookie(cookie, secure(ctx)),
          "cache-control": "no-store",
        });
      },
    },
    {
      method: "GET",
      path: "/v1/ui/session",
      summary: "The dashboard session of this request: {name, tokenId, policies, csrf, expiresAt}",
      handler: (ctx) => {
        ctx.allowQuery();
        const s = sessions.sessionOf(ctx.req);
        if (s === undefined)
          throw new HttpError(
            404,
            "not_found",
            "no dashboard session: this request used a token (log in at /ui/login)",
          );
        ctx.send(200, sessionInfo(s.record, s.token), { "cache-control": "no-store" });
      },
    },
    {
      method: "POST",
      path: "/v1/ui/logout",
      summary: "End this request's dashboard session and clear its cookie: {loggedOut}",
      handler: async (ctx) => {
        ctx.allowQuery();
        const loggedOut = await sessions.logout(ctx.req);
        ctx.send(200, { loggedOut }, { "set-cookie": setCookie("", secure(ctx)) });
      },
    },
    {
      method: "GET",
      path: "/ui/login",
      summary:
        "?code=: log in with a one-time link (cookie, then 303 to /ui/; a used or expired one to /ui/login?error=link); without a code, the login page",
      public: true,
      handler: async (ctx) => {
        const code = ctx.query.get("code");
        // A HEAD (a link checker's) must not use the link up.
        if (code === null || ctx.method === "HEAD") return deps.uiFiles.serve(ctx, "login");
        const opened = await sessions.useLink(code);
        if (opened === undefined) return redirect(ctx, "/ui/login?error=link");
        redirect(ctx, "/ui/", setCookie(opened.cookie, secure(ctx)));
      },
    },
    {
      method: "GET",
      path: "/ui/*path",
      summary: "The dashboard (web/dist; no token needed: it logs in at /ui/login)",
      public: true,
      handler: (ctx) => deps.uiFiles.serve(ctx, ctx.params["path"] ?? ""),
    },
  ];
}
