import * as z from "zod";
import type { AppService } from "../../apps/service.js";
import { HttpError, notFound } from "../../errors.js";
import { K } from "../../model/keys.js";
import { HookIdSchema, HookUrlSchema, NotifyEventSchema } from "../../model/notify.js";
import { PipelineNameSchema, PipelineSchema, type Pipeline } from "../../model/pipeline.js";
import { allows, type Access } from "../../model/token.js";
import { addHook, listHooks, removeHook, testHook, type HookDeps } from "../../notify/hooks.js";
import { pipelineOf } from "../../notify/route.js";
import { text } from "../../store/index.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { appFromPath } from "./builds.js";

const AddSchema = z.strictObject({
  url: HookUrlSchema,
  /** Absent: every event. */
  events: z.array(NotifyEventSchema).min(1).max(10).optional(),
});

/** Whose hooks a request is about, after checking access: an app's or a pipeline's. */
interface Owner {
  target: string;
  /** The app a test event names (a pipeline's: its first stage). */
  app: string;
  pipeline: string | undefined;
}

/**
 * Notifications (docs/delivery/notifications.md): webhooks per app (`app` read to list, write to
 * change) or per pipeline (the same on every app of its stages). The leader delivers; `…/test`
 * sends one test event from this server at once and answers how it went.
 */
export function notificationRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  const hookDeps = (): HookDeps => {
    const apps = deps.apps as AppService | undefined;
    if (apps?.secrets === undefined)
      throw new HttpError(503, "unavailable", "this server has no apps service");
    return { store, audit: deps.audit, box: apps.secrets };
  };

  const appOwner = async (ctx: Ctx, access: Access): Promise<Owner> => {
    const app = await appFromPath(ctx, store, access);
    return { target: `app:${app}`, app, pipeline: await pipelineOf(store, app) };
  };

  const pipelineOwner = async (ctx: Ctx, access: Access): Promise<Owner> => {
    const name = pathParam(ctx, "name", PipelineNameSchema);
    const kv = await store.get(`${K.pipelines}${name}`);
    let p: Pipeline | undefined;
    try {
      p = kv === undefined ? undefined : PipelineSchema.parse(JSON.parse(text(kv.value)));
    } catch {
      p = undefined;
    }
    if (p === undefined) throw notFound(`pipeline "${name}"`);
    for (const s of p.stages)
      if (!allows(ctx.who.policies, "app", s.app, access))
        throw forbidden(
          `${access === "read" ? "read" : "change"} app "${s.app}" (stage ${s.name} of pipeline ${name})`,
        );
    return { target: `pipeline:${name}`, app: p.stages[0]!.app, pipeline: name };
  };

  const routes = (
    base: string,
    owner: (ctx: Ctx, a: Access) => Promise<Owner>,
    what: string,
  ): RouteDef[] => [
    {
      method: "GET",
      path: `${base}/notifications`,
      summary: `The ${what}'s notification webhooks (URLs redacted; last delivery and last error)`,
      handler: async (ctx) => {
        ctx.allowQuery();
        const o = await owner(ctx, "read");
        ctx.send(200, await listHooks(hookDeps(), o.target));
      },
    },
    {
      method: "POST",
      path: `${base}/notifications`,
      summary: `Add a webhook to the ${what} {url, events?}; answers it with its signing secret (shown only now)`,
      handler: async (ctx) => {
        ctx.allowQuery();
        const o = await owner(ctx, "write");
        const body = await ctx.json(AddSchema);
        ctx.send(201, await addHook(hookDeps(), o.target, body, ctx.who));
      },
    },
    {
      method: "DELETE",
      path: `${base}/notifications/:id`,
      summary: `Remove one of the ${what}'s webhooks (what waits for it is dropped)`,
      handler: async (ctx) => {
        ctx.allowQuery();
        const o = await owner(ctx, "write");
        const id = pathParam(ctx, "id", HookIdSchema);
        await removeHook(hookDeps(), o.target, id, ctx.who);
        ctx.send(200, { ok: true });
      },
    },
    {
      method: "POST",
      path: `${base}/notifications/:id/test`,
      summary: `Send a test event to one of the ${what}'s webhooks now → {delivered, status?, error?}`,
      handler: async (ctx) => {
        ctx.allowQuery();
        const o = await owner(ctx, "write");
        const id = pathParam(ctx, "id", HookIdSchema);
        ctx.send(200, await testHook(hookDeps(), o.target, id, o.app, o.pipeline, ctx.who));
      },
    },
  ];

  return [
    ...routes("/v1/apps/:app", appOwner, "app"),
    ...routes("/v1/pipelines/:name", pipelineOwner, "pipeline"),
  ];
}
