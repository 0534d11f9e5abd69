import { createReadStream, existsSync } from "node:fs";
import * as z from "zod";
import { DEFAULT_BUILD_SETTINGS, buildKey } from "../../build/builder.js";
import { buildAndRelease } from "../build-release.js";
import { buildLogPath } from "../../build/buildlog.js";
import { dockerEngine } from "../../docker/engine.js";
import { ensureRepoId } from "../../build/repo-id.js";
import { formatResult } from "../../build/result.js";
import { ValidationError, HttpError, notFound } from "../../errors.js";
import {
  AppNameSchema,
  BuildSchema,
  PushOriginSchema,
  SourceHashSchema,
  type Build,
  type PushOrigin,
} from "../../model/app.js";
import { K } from "../../model/keys.js";
import { allows, type Access } from "../../model/token.js";
import type { Store } from "../../store/index.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam, requestSignal } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";

const CommitSchema = z
  .string()
  .regex(/^([0-9a-f]{40}|[0-9a-f]{64}|upload)$/, 'must be a full git commit id or "upload"');
const DeployImageSchema = z.strictObject({ image: z.string().min(1).max(512) });
const BuildIdSchema = z.string().regex(/^\d{8}-\d{6}-\d{3}-[0-9a-f]{4}$/, "is not a build id");

/** The app named in the path, after checking the caller's access and that the app exists. */
export async function appFromPath(ctx: Ctx, store: Store, access: Access): Promise<string> {
  const app = pathParam(ctx, "app", AppNameSchema);
  if (!allows(ctx.who.policies, "app", app, access)) {
    throw forbidden(
      `${access === "read" ? "read" : access === "deploy" ? "deploy" : "change"} app "${app}"`,
    );
  }
  if ((await store.get(`${K.apps}${app}`)) === undefined) throw notFound(`app "${app}"`);
  return app;
}

export function requireDataDir(deps: ApiDeps): string {
  if (deps.dataDir === undefined) {
    throw new HttpError(
      503,
      "unavailable",
      "this server has no data directory: builds are not available",
    );
  }
  return deps.dataDir;
}

export function buildRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  return [
    {
      method: "POST",
      path: "/v1/apps/:app/builds",
      summary:
        "Build the source in the body (a tar stream), then release and deploy it (?commit=SHA, ?source=HASH: a stack folder's content hash, kept on the build); answers a text stream whose last line is `gantry:result {json}`",
      handler: async (ctx) => {
        ctx.allowQuery("commit", "source", "ref");
        const app = await appFromPath(ctx, store, "deploy");
        const commit = CommitSchema.safeParse(ctx.query.get("commit") ?? "upload");
        if (!commit.success) {
          throw new ValidationError(`commit ${commit.error.issues[0]!.message}`, "commit");
        }
        const sourceParam = ctx.query.get("source") ?? undefined;
        const source =
          sourceParam === undefined ? undefined : SourceHashSchema.safeParse(sourceParam);
        if (source !== undefined && !source.success)
          throw new ValidationError(`source ${source.error.issues[0]!.message}`, "source");
        // Bad input is refused before anything about this server's state (its data directory).
        const dataDir = requireDataDir(deps);
        const push = pushOrigin(ctx, dataDir, app, commit.data);
        const settings = { ...DEFAULT_BUILD_SETTINGS, ...deps.build };
        const declared = Number(ctx.req.headers["content-length"] ?? "0");
        if (declared > settings.maxSourceBytes) {
          throw new HttpError(
            413,
            "too_large",
            `the source is larger than ${settings.maxSourceBytes} bytes (the limit)`,
            "body",
          );
        }
        ctx.res.writeHead(200, {
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
        });
        ctx.res.flushHeaders();
        const signal = requestSignal(ctx, deps.closing);
        const write = (line: string): void => {
          if (!ctx.res.writableEnded && !ctx.res.destroyed) ctx.res.write(line + "\n");
        };
        const result = await buildAndRelease(deps, {
          app,
          commit: commit.data,
          source: ctx.req,
          ...(source === undefined ? {} : { sourceHash: source.data }),
          ...(push === undefined ? {} : { push }),
          who: ctx.who,
          startOps: [deps.audit.entry(ctx.who, "app.build", app)],
          write,
          signal,
        });
        write(formatResult(result));
        ctx.res.end();
      },
    },
    {
      method: "POST",
      path: "/v1/apps/:app/deploy",
      summary:
        "Deploy an image built elsewhere {image: REF}: REF is resolved to a digest (Gantry's registry for its own address, else the server's engine) and refused (400/404) before any release when it does not exist or its digest does not match → {build, release, image}; follow the deploy with GET …/deploys/current?follow",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = await appFromPath(ctx, store, "deploy");
        const { image: ref } = await ctx.json(DeployImageSchema);
        const apps = deps.apps;
        if (apps?.deployImage === undefined)
          throw new HttpError(503, "unavailable", "deploys are not available on this server");
        const { build, version } = await apps.deployImage(app, ref, ctx.who, {
          engine: () => deps.docker ?? dockerEngine(),
          ...(deps.registry === undefined ? {} : { registry: deps.registry }),
        });
        ctx.send(201, { build: build.id, release: version, image: build.image });
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/builds",
      summary: "An app's builds, newest first (?limit, default 50)",
      handler: async (ctx) => {
        ctx.allowQuery("limit");
        const app = await appFromPath(ctx, store, "read");
        const limit = ctx.int("limit", 50, 1000);
        const res = await store.range({ prefix: `${K.builds}${app}/` });
        const builds = res.kvs
          .map((kv) => parseBuild(kv.value))
          .filter((b): b is Build => b !== undefined)
          .reverse()
          .slice(0, limit === 0 ? undefined : limit);
        ctx.send(200, builds, { "x-gantry-index": String(res.revision) });
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/builds/:id",
      summary: "One build",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = await appFromPath(ctx, store, "read");
        const id = pathParam(ctx, "id", BuildIdSchema);
        const kv = await store.get(buildKey(app, id));
        if (kv === undefined) throw notFound(`build ${id} of app "${app}"`);
        ctx.send(200, JSON.parse(Buffer.from(kv.value).toString("utf8")));
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/builds/:id/log",
      summary: "A build's log (text, one `<ISO time> <line>` per line)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = await appFromPath(ctx, store, "read");
        const id = pathParam(ctx, "id", BuildIdSchema);
        const path = buildLogPath(requireDataDir(deps), app, id);
        if (!existsSync(path)) throw notFound(`the log of build ${id} of app "${app}"`);
        ctx.res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        for await (const chunk of createReadStream(path)) ctx.res.write(chunk);
        ctx.res.end();
      },
    },
  ];
}

/**
 * `?ref=` (the pre-receive hook sends it): the source is a push of the commit to that branch of
 * the app's repository on this server, and what it releases is tied to the push until git moves
 * the ref (docs/apps.md, "An interrupted push").
 */
function pushOrigin(
  ctx: Ctx,
  dataDir: string,
  app: string,
  commit: string,
): PushOrigin | undefined {
  const raw = ctx.query.get("ref");
  if (raw === null) return undefined;
  const ref = PushOriginSchema.shape.ref.safeParse(raw);
  if (!ref.success)
    throw new ValidationError("ref must be refs/heads/main or refs/heads/master", "ref");
  if (commit === "upload") throw new ValidationError("commit must be given with ref", "commit");
  const repo = ensureRepoId(dataDir, app);
  if (repo === undefined)
    throw new ValidationError(`${app} has no repository on this server for ref`, "ref");
  return { commit, ref: ref.data, repo };
}

function parseBuild(value: Uint8Array): Build | undefined {
  try {
    const r = BuildSchema.safeParse(JSON.parse(Buffer.from(value).toString("utf8")));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
