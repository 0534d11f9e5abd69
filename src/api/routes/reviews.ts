import * as z from "zod";
import { DEFAULT_BUILD_SETTINGS } from "../../build/builder.js";
import { formatResult } from "../../build/result.js";
import { HttpError, ValidationError } from "../../errors.js";
import { DEFAULT_STALE_AFTER_MS } from "../../model/pipeline.js";
import type { Ctx } from "../context.js";
import { requestSignal } from "../path-params.js";
import { destroyReview, reviewApps, reviewBuild, reviewPipeline } from "../review-apps.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { appParam, appsOf } from "./apps-common.js";

/** A git branch name (without refs/heads/), as git allows them, give or take. */
const BranchSchema = z
  .string()
  .min(1)
  .max(255)
  .refine(
    (b) => ![...b].some((c) => c <= " " || c === "\x7f" || "~^:?*[\\".includes(c)),
    "is not a git branch name",
  );
const CommitSchema = z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, "must be a full commit id");

function query<T>(ctx: Ctx, name: string, schema: z.ZodType<T>): T {
  const r = schema.safeParse(ctx.query.get(name) ?? undefined);
  if (!r.success)
    throw new ValidationError(`${name} ${r.error.issues[0]?.message ?? "is missing"}`, name);
  return r.data;
}

/** Review apps of a pipeline app: build a branch into one, destroy one, list them. */
export function reviewRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "POST",
      path: "/v1/apps/:app/reviews",
      summary:
        "Build the branch's source in the body (a tar stream; ?branch=B&commit=SHA) into its review app, made when absent, and deploy it; a text stream ending with `gantry:result {json}` (with `review` and `url`; `skipped: true` when the app's pipeline has no review apps)",
      handler: async (ctx) => {
        ctx.allowQuery("branch", "commit");
        const app = appParam(ctx, "deploy");
        const branch = query(ctx, "branch", BranchSchema);
        const commit = query(ctx, "commit", CommitSchema);
        await appsOf(deps).info(app, ""); // 404 before the stream
        const limit = deps.build?.maxSourceBytes ?? DEFAULT_BUILD_SETTINGS.maxSourceBytes;
        if (Number(ctx.req.headers["content-length"] ?? "0") > limit)
          throw new HttpError(413, "too_large", `the source is larger than ${limit} bytes`, "body");
        ctx.res.writeHead(200, {
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
        });
        ctx.res.flushHeaders();
        const write = (line: string): void => {
          if (!ctx.res.writableEnded && !ctx.res.destroyed) ctx.res.write(line + "\n");
        };
        try {
          const result = await reviewBuild(deps, {
            app,
            branch,
            commit,
            source: ctx.req,
            who: ctx.who,
            write,
            signal: requestSignal(ctx, deps.closing),
          });
          if (result === undefined) ctx.req.resume();
          write(formatResult(result ?? { ok: true, ...{ skipped: true } }));
        } catch (err) {
          ctx.req.resume();
          write(
            formatResult({ ok: false, error: err instanceof Error ? err.message : String(err) }),
          );
        }
        ctx.res.end();
      },
    },
    {
      method: "DELETE",
      path: "/v1/apps/:app/reviews",
      summary:
        "The branch (?branch=B) was deleted: destroy its review app → {destroyed: name | null}",
      handler: async (ctx) => {
        ctx.allowQuery("branch");
        const app = appParam(ctx, "deploy");
        const branch = query(ctx, "branch", BranchSchema);
        const destroyed = await destroyReview(deps, { app, branch, who: ctx.who });
        ctx.send(200, { destroyed: destroyed ?? null });
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/reviews",
      summary:
        "The review apps of a pipeline app: app, parent, branch, commit, url, release, updatedAt and when the sweep destroys it (staleAt)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "read");
        await appsOf(deps).info(app, "");
        const p = await reviewPipeline(deps, app);
        const stale = p?.reviewApps?.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
        const list = (await reviewApps(deps, { app })).map((a) => ({
          app: a.name,
          parent: a.review!.parent,
          pipeline: a.review!.pipeline,
          branch: a.review!.branch,
          ...(a.review!.commit === undefined ? {} : { commit: a.review!.commit }),
          url: appsOf(deps).appUrl(a.name),
          release: a.currentRelease,
          updatedAt: a.review!.updatedAt,
          staleAt: new Date(Date.parse(a.review!.updatedAt) + stale).toISOString(),
        }));
        ctx.send(200, { enabled: p !== undefined, reviews: list });
      },
    },
  ];
}
