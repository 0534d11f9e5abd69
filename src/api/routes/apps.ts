import * as z from "zod";
import { ValidationError, notFound } from "../../errors.js";
import { followScale } from "../../apps/follow-scale.js";
import { scaleKey } from "../../apps/keys.js";
import { AppSetSchema } from "../../model/app-set.js";
import { destroyAppImages } from "../../apps/destroy-images.js";
import { dockerAvailable, dockerEngine } from "../../docker/engine.js";
import { parseRecord } from "../../apps/records.js";
import {
  AppNameSchema,
  AppSchema,
  DomainSchema,
  FormationSchema,
  ScaleSchema,
} from "../../model/app.js";
import { K } from "../../model/keys.js";
import { allows } from "../../model/token.js";
import { blockIfAsked } from "../blocking.js";
import { forbidden } from "../errors.js";
import { pathParam, requestSignal } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { apiBase, appParam, appsOf, textStream } from "./apps-common.js";
import { listWithStatus } from "../../apps/app-status-read.js";

const CreateSchema = z.strictObject({
  name: AppNameSchema,
  healthPath: AppSchema.shape.healthPath.optional(),
  deployTimeoutMs: AppSchema.shape.deployTimeoutMs.optional(),
  drainMs: AppSchema.shape.drainMs.optional(),
});

const SettingsSchema = AppSetSchema;

const DomainBodySchema = z.strictObject({ domain: DomainSchema });

/** Apps: create, list (blocking), info, destroy, settings, scale, domains. */
export function appRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  return [
    {
      method: "POST",
      path: "/v1/apps",
      summary:
        "Create an app {name, healthPath?, deployTimeoutMs?, drainMs?} and its git repository → App + gitUrl + url",
      handler: async (ctx) => {
        ctx.allowQuery();
        const body = await ctx.json(CreateSchema);
        if (!allows(ctx.who.policies, "app", body.name, "write"))
          throw forbidden(`create app "${body.name}"`);
        const { name, ...settings } = body;
        const app = await appsOf(deps).create(name, settings, ctx.who);
        ctx.send(201, appsOf(deps).view(app, apiBase(ctx, deps)));
      },
    },
    {
      method: "GET",
      path: "/v1/apps",
      summary:
        "List apps with gitUrl and url (?status: with each app's instances, state and last deploy; ?index&wait to block until one changes)",
      handler: async (ctx) => {
        ctx.allowQuery("index", "wait", "status");
        await blockIfAsked(ctx, store, [{ prefix: K.apps }], deps.closing);
        const apps = appsOf(deps);
        const withStatus = ctx.flag("status");
        const {
          apps: list,
          revision,
          status,
        } = withStatus
          ? await listWithStatus(store)
          : { ...(await apps.list()), status: undefined };
        const base = apiBase(ctx, deps);
        ctx.send(
          200,
          list
            .filter((a) => allows(ctx.who.policies, "app", a.name, "read"))
            .map((a) => {
              const view = apps.view(a, base);
              const s = status?.get(a.name);
              return s === undefined ? view : { ...view, status: s };
            }),
          { "x-gantry-index": String(revision) },
        );
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app",
      summary: "An app: settings, formation, domains, current release, last deploy, gitUrl, url",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "read");
        ctx.send(200, await appsOf(deps).info(app, apiBase(ctx, deps)));
      },
    },
    {
      method: "DELETE",
      path: "/v1/apps/:app",
      summary:
        "Destroy an app and everything of it (?confirm=APP): instances, routes, repo, releases, config, builds, logs, its images in Gantry's registry and on this server's engine",
      handler: async (ctx) => {
        ctx.allowQuery("confirm");
        const app = appParam(ctx, "write");
        if (ctx.query.get("confirm") !== app)
          throw new ValidationError(
            `destroying ${app} cannot be undone: confirm with ?confirm=${app}`,
            "confirm",
          );
        const report = await appsOf(deps).destroy(app, ctx.who);
        const engine = deps.docker ?? ((await dockerAvailable()) ? dockerEngine() : undefined);
        const images = await destroyAppImages(app, deps.registry, engine);
        ctx.send(200, { ok: true, ...report, ...images });
      },
    },
    {
      method: "PUT",
      path: "/v1/apps/:app/settings",
      summary:
        "Change an app's settings {healthPath?, deployTimeoutMs?, drainMs?, runtime?, container?: {memoryMb?, pids?, readOnly?} (null: default), buildArgs?, httpsRedirect?, hsts? (seconds, 0: off)}: a change of runtime or container makes a release of the same code (answered as `newRelease`, to follow); the rest apply from the next deploy",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "write");
        const settings = await ctx.json(SettingsSchema);
        if (Object.keys(settings).length === 0)
          throw new ValidationError(
            'give a setting to change, e.g. {"healthPath": "/up"}',
            "healthPath",
          );
        const { app: updated, release } = await appsOf(deps).changeSettings(app, settings, ctx.who);
        const view = appsOf(deps).view(updated, apiBase(ctx, deps));
        ctx.send(200, release === undefined ? view : { ...view, newRelease: release });
      },
    },
    {
      method: "PUT",
      path: "/v1/apps/:app/formation",
      summary:
        "Scale process types of the current release, e.g. {web: 3, worker: 1} → the app, with `scaling` (an id to follow) when the formation changed",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "deploy");
        const changes = await ctx.json(FormationSchema);
        if (Object.keys(changes).length === 0)
          throw new ValidationError('give at least one process type and count, e.g. {"web": 2}');
        const apps = appsOf(deps);
        const { scale } = await apps.scale(app, changes, ctx.who);
        const info = await apps.info(app, apiBase(ctx, deps));
        ctx.send(200, scale === undefined ? info : { ...info, scaling: scale.id });
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/scaling",
      summary:
        "The last scaling (ps:scale) and its progress; ?follow&id=ID streams it as text until it ends, ending with `gantry:result {json}`",
      handler: async (ctx) => {
        ctx.allowQuery("follow", "id");
        const app = appParam(ctx, "read");
        const apps = appsOf(deps);
        const rec = parseRecord(await apps.store.get(scaleKey(app)), ScaleSchema);
        if (!ctx.flag("follow")) {
          if (rec === undefined) throw notFound(`a scaling of ${app}`);
          return ctx.send(200, rec);
        }
        const id = ctx.query.get("id") ?? rec?.id;
        if (id === undefined || rec?.id !== id)
          throw new ValidationError(`${app} has no scaling ${id ?? "yet"}`, "id");
        const out = textStream(ctx);
        out.end(await followScale(apps.store, app, id, out.line, requestSignal(ctx, deps.closing)));
      },
    },
    {
      method: "POST",
      path: "/v1/apps/:app/domains",
      summary: "Route a custom domain {domain} to the app",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "write");
        const { domain } = await ctx.json(DomainBodySchema);
        const updated = await appsOf(deps).addDomain(app, domain, ctx.who);
        ctx.send(200, appsOf(deps).view(updated, apiBase(ctx, deps)));
      },
    },
    {
      method: "DELETE",
      path: "/v1/apps/:app/domains/:domain",
      summary: "Stop routing a custom domain to the app",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "write");
        const domain = pathParam(ctx, "domain", DomainSchema);
        const updated = await appsOf(deps).removeDomain(app, domain, ctx.who);
        ctx.send(200, appsOf(deps).view(updated, apiBase(ctx, deps)));
      },
    },
  ];
}
