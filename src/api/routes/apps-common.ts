import { AppService } from "../../apps/service.js";
import type { DeployResult } from "../../model/app-views.js";
import { AppNameSchema } from "../../model/app.js";
import { allows, type Access } from "../../model/token.js";
import { GantryError } from "../../errors.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps } from "../server.js";

/** The `:app` path parameter, validated (a DNS label) and checked against the token's `app` policies. */
export function appParam(ctx: Ctx, access: Access): string {
  const app = pathParam(ctx, "app", AppNameSchema);
  if (!allows(ctx.who.policies, "app", app, access)) throw forbidden(`${access} app "${app}"`);
  return app;
}

/** The apps service of this server (createApiServer attaches one; a build test may swap in a fake hook). */
export function appsOf(deps: ApiDeps): AppService {
  if (!(deps.apps instanceof AppService))
    throw new GantryError("unavailable", "this server has no apps service", { status: 503 });
  return deps.apps;
}

/** The API's base URL as this client reached it: what `gitUrl` is built on. */
export function apiBase(ctx: Ctx, deps: ApiDeps): string {
  if (deps.publicUrl !== undefined) return deps.publicUrl;
  const host = ctx.req.headers.host ?? "127.0.0.1";
  // An HTTPS API (the cluster CA) gives https remotes: git pushes then verify the server.
  const scheme =
    "encrypted" in ctx.req.socket && ctx.req.socket.encrypted === true ? "https" : "http";
  return `${scheme}://${/^[A-Za-z0-9.:[\]-]+$/.test(host) ? host : "127.0.0.1"}`;
}

/** The result line that ends every deploy/build stream (the same as src/build/result.ts). */
export const RESULT_PREFIX = "gantry:result ";

/**
 * A streamed text answer: progress lines as they happen, then `gantry:result {json}`. The status
 * is 200 once streaming has begun; the result line says how it ended.
 */
export function textStream(ctx: Ctx): {
  line(text: string): void;
  end(result: DeployResult): void;
} {
  ctx.res.writeHead(200, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  ctx.res.flushHeaders();
  const write = (s: string): void => {
    if (!ctx.res.destroyed) ctx.res.write(s);
  };
  return {
    line: (text) => write(text.endsWith("\n") ? text : text + "\n"),
    end: (result) => {
      write(RESULT_PREFIX + JSON.stringify(result) + "\n");
      ctx.res.end();
    },
  };
}
