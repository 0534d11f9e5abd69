import * as z from "zod";
import { pipelineStatus } from "../../apps/pipeline-status.js";
import {
  deletePipeline,
  listPipelines,
  pipelineNotFound,
  readPipeline,
  savePipeline,
} from "../../apps/pipelines.js";
import { promote } from "../../apps/promote.js";
import { ValidationError } from "../../errors.js";
import { ConfigNameSchema } from "../../model/app.js";
import {
  DEFAULT_STALE_AFTER_MS,
  PipelineNameSchema,
  reviewConfigContext,
  reviewConfigDigest,
  StageSchema,
  StaleAfterMsSchema,
  type Pipeline,
} from "../../model/pipeline.js";
import { allows } from "../../model/token.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam } from "../path-params.js";
import { destroyReviewApp, reviewApps } from "../review-apps.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { appParam, appsOf } from "./apps-common.js";

const MAX_VALUE = 32 * 1024;

const StagesSchema = z
  .array(StageSchema)
  .min(2, "a pipeline needs at least 2 stages, e.g. staging and production")
  .max(10);
const RequiredSchema = z.array(ConfigNameSchema).max(100);

const CreateSchema = z.strictObject({
  name: PipelineNameSchema,
  stages: StagesSchema,
  reviewApps: z
    .strictObject({
      enabled: z.boolean().default(true),
      staleAfterMs: StaleAfterMsSchema.default(DEFAULT_STALE_AFTER_MS),
      config: z.record(ConfigNameSchema, z.string().max(MAX_VALUE)).default({}),
    })
    .optional(),
  requireTests: z.boolean().default(false),
  requiredConfig: RequiredSchema.default([]),
});

const UpdateSchema = z.strictObject({
  stages: StagesSchema.optional(),
  reviewApps: z
    .strictObject({
      enabled: z.boolean().optional(),
      staleAfterMs: StaleAfterMsSchema.optional(),
      /** Merged: a value sets, null removes. */
      config: z.record(ConfigNameSchema, z.string().max(MAX_VALUE).nullable()).optional(),
    })
    .optional(),
  requireTests: z.boolean().optional(),
  requiredConfig: RequiredSchema.optional(),
});
type Update = z.infer<typeof UpdateSchema>;

const PromoteSchema = z.strictObject({ to: z.string().max(64).optional() });

/** Changing a pipeline needs write on every app it has or will have as a stage. */
function mayChange(ctx: Ctx, apps: readonly string[]): void {
  for (const app of apps)
    if (!allows(ctx.who.policies, "app", app, "write"))
      throw forbidden(`change app "${app}" (a stage of the pipeline)`);
}

/** Pipelines (src/model/pipeline.ts) and promotion. */
export function pipelineRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  const seal = (pipeline: string, values: Record<string, string>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        k,
        appsOf(deps).secrets.encrypt(v, reviewConfigContext(pipeline, k)),
      ]),
    );
  const nameParam = (ctx: Ctx): string => pathParam(ctx, "name", PipelineNameSchema);
  return [
    {
      method: "POST",
      path: "/v1/pipelines",
      summary:
        "Create a pipeline {name, stages: [{name, app}] (2+; each app in one pipeline at most), reviewApps?: {enabled, staleAfterMs, config: {K: V}}, requireTests?, requiredConfig?: [K]}; needs app write on every stage app",
      handler: async (ctx) => {
        ctx.allowQuery();
        const body = await ctx.json(CreateSchema);
        mayChange(
          ctx,
          body.stages.map((s) => s.app),
        );
        const { reviewApps, ...rest } = body;
        const record: Pipeline = {
          ...rest,
          ...(reviewApps === undefined
            ? {}
            : { reviewApps: { ...reviewApps, config: seal(body.name, reviewApps.config) } }),
          createdAt: new Date().toISOString(),
          createdBy: ctx.who.name,
        };
        const saved = await savePipeline(
          deps,
          ctx.who,
          withDigest(deps, record),
          undefined,
          "pipeline.create",
        );
        ctx.send(201, await pipelineStatus(store, saved));
      },
    },
    {
      method: "GET",
      path: "/v1/pipelines",
      summary:
        "Every pipeline the token may read an app of, with each stage's release and `behind`",
      handler: async (ctx) => {
        ctx.allowQuery();
        const list = (await listPipelines(store)).filter((p) =>
          p.value.stages.some((s) => allows(ctx.who.policies, "app", s.app, "read")),
        );
        ctx.send(
          200,
          await Promise.all(
            list.map(async (p) => ({
              ...(await pipelineStatus(store, p.value)),
              modRevision: p.modRevision,
            })),
          ),
        );
      },
    },
    {
      method: "GET",
      path: "/v1/pipelines/:name",
      summary:
        "A pipeline: its stages, each with its app's current release, artifact or image, promotedFrom and `behind` (not running the previous stage's code); review config names only",
      handler: async (ctx) => {
        ctx.allowQuery();
        const name = nameParam(ctx);
        const p = await readPipeline(store, name);
        if (
          p === undefined ||
          !p.value.stages.some((s) => allows(ctx.who.policies, "app", s.app, "read"))
        )
          throw pipelineNotFound(name);
        ctx.send(200, await pipelineStatus(store, p.value));
      },
    },
    {
      method: "PUT",
      path: "/v1/pipelines/:name",
      summary:
        "Change a pipeline {stages?, reviewApps?: {enabled?, staleAfterMs?, config?: {K: V | null}} (config merged; null removes), requireTests?, requiredConfig?}; needs app write on its old and new stage apps",
      handler: async (ctx) => {
        ctx.allowQuery();
        const name = nameParam(ctx);
        const change = await ctx.json(UpdateSchema);
        const cur = await readPipeline(store, name);
        if (cur === undefined) throw pipelineNotFound(name);
        mayChange(
          ctx,
          [...cur.value.stages, ...(change.stages ?? [])].map((s) => s.app),
        );
        const next = withDigest(deps, applyUpdate(cur.value, change, seal));
        const saved = await savePipeline(deps, ctx.who, next, cur, "pipeline.update");
        ctx.send(200, await pipelineStatus(store, saved));
      },
    },
    {
      method: "DELETE",
      path: "/v1/pipelines/:name",
      summary:
        "Delete a pipeline (?confirm=NAME) and destroy its review apps; its stage apps stay → {pipeline, reviewAppsDestroyed}",
      handler: async (ctx) => {
        ctx.allowQuery("confirm");
        const name = nameParam(ctx);
        const cur = await readPipeline(store, name);
        if (cur === undefined) throw pipelineNotFound(name);
        mayChange(
          ctx,
          cur.value.stages.map((s) => s.app),
        );
        if (ctx.query.get("confirm") !== name)
          throw new ValidationError(
            `deleting pipeline ${name} destroys its review apps: confirm with ?confirm=${name}`,
            "confirm",
          );
        await deletePipeline(deps, ctx.who, name);
        const destroyed: string[] = [];
        for (const app of await reviewApps(deps, { pipeline: name })) {
          await destroyReviewApp(deps, app.name, ctx.who);
          destroyed.push(app.name);
        }
        ctx.send(200, { pipeline: name, reviewAppsDestroyed: destroyed });
      },
    },
    {
      method: "POST",
      path: "/v1/apps/:app/promote",
      summary:
        "Promote the app's current release to the next stage of its pipeline {to?: stage}: a new release there with the same artifact or image (no rebuild) and that stage's config → {app, version, from}; follow its deploy with GET /v1/apps/<target>/deploys/current?follow. Needs app deploy on the target",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "read");
        const { to } = await ctx.json(PromoteSchema);
        const answer = await promote(deps, app, to, ctx.who, (target) => {
          if (!allows(ctx.who.policies, "app", target, "deploy"))
            throw forbidden(`deploy app "${target}" (the stage promoted to)`);
        });
        ctx.send(200, answer);
      },
    },
  ];
}

/** The pipeline with its review config's digest (src/model/pipeline.ts, reviewConfigDigest). */
function withDigest(deps: ApiDeps, p: Pipeline): Pipeline {
  if (p.reviewApps === undefined) return p;
  const box = appsOf(deps).secrets;
  const plain = Object.fromEntries(
    Object.entries(p.reviewApps.config).map(([k, v]) => [
      k,
      box.decrypt(v, reviewConfigContext(p.name, k)),
    ]),
  );
  return { ...p, reviewApps: { ...p.reviewApps, configDigest: reviewConfigDigest(p.name, plain) } };
}

/** Pure: the pipeline after a change (review config merged: a value sets, null removes). */
export function applyUpdate(
  cur: Pipeline,
  change: Update,
  seal: (pipeline: string, values: Record<string, string>) => Record<string, string>,
): Pipeline {
  const next: Pipeline = { ...cur, updatedAt: new Date().toISOString() };
  if (change.stages !== undefined) next.stages = change.stages;
  if (change.requireTests !== undefined) next.requireTests = change.requireTests;
  if (change.requiredConfig !== undefined) next.requiredConfig = change.requiredConfig;
  const r = change.reviewApps;
  if (r !== undefined) {
    const base = cur.reviewApps ?? {
      enabled: true,
      staleAfterMs: DEFAULT_STALE_AFTER_MS,
      config: {},
    };
    const config = { ...base.config };
    const set: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.config ?? {})) {
      if (v === null) delete config[k];
      else set[k] = v;
    }
    next.reviewApps = {
      enabled: r.enabled ?? base.enabled,
      staleAfterMs: r.staleAfterMs ?? base.staleAfterMs,
      config: { ...config, ...seal(cur.name, set) },
    };
  }
  return next;
}
