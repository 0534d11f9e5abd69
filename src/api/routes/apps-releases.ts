import * as z from "zod";
import { ValidationError } from "../../errors.js";
import { ConfigNameSchema } from "../../model/app.js";
import { changeTestConfig, readTestConfig } from "../../apps/test-config.js";
import { auditConfigRead, requireConfigRead } from "../config-reads.js";
import type { Ctx } from "../context.js";
import { requestSignal } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { appParam, appsOf, textStream } from "./apps-common.js";

/** One config value, and all of them together (a release holds a copy: keep both well in a store value). */
const MAX_VALUE = 32 * 1024;
const MAX_TOTAL = 256 * 1024;

const ConfigChangeSchema = z.strictObject({
  set: z.record(ConfigNameSchema, z.string().max(MAX_VALUE)).default({}),
  unset: z.array(ConfigNameSchema).max(1000).default([]),
});

const VersionSchema = z.union([
  z.number().int().min(1),
  z
    .string()
    .regex(/^v?[1-9][0-9]{0,7}$/, 'must be a release like "v3" or 3')
    .transform((s) => Number(s.replace(/^v/, ""))),
]);
const RollbackSchema = z.strictObject({ version: VersionSchema });

/** Config (→ releases), releases, rollback and unpin, and following a deploy. */
export function appReleaseRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/apps/:app/config",
      summary:
        "The app's config vars, decrypted (needs app deploy: these are secrets); ?scope=test: its TEST config (what build tests run with); each read is audited (config.read)",
      handler: async (ctx) => {
        ctx.allowQuery("scope");
        const app = appParam(ctx, "read");
        const test = scopeOf(ctx) === "test";
        requireConfigRead(ctx.who, app);
        const apps = appsOf(deps);
        const config = test
          ? await readTestConfig({ store: deps.store, secrets: apps.secrets }, app)
          : await apps.config(app);
        await auditConfigRead(deps, ctx, [test ? `${app}(test)` : app]);
        ctx.send(200, config);
      },
    },
    {
      method: "PUT",
      path: "/v1/apps/:app/config",
      summary:
        "Change config {set: {K: V}, unset: [K]}: a new release when anything changed → {changed, version}; ?scope=test changes the TEST config (no release) → {changed, version, scope}",
      handler: async (ctx) => {
        ctx.allowQuery("scope");
        const app = appParam(ctx, "deploy");
        const test = scopeOf(ctx) === "test";
        const { set, unset } = await ctx.json(ConfigChangeSchema);
        if (Object.keys(set).length === 0 && unset.length === 0)
          throw new ValidationError("give config vars to set or unset", "set");
        const apps = appsOf(deps);
        const tdeps = { store: deps.store, audit: deps.audit, secrets: apps.secrets };
        const current = test ? await readTestConfig(tdeps, app) : await apps.config(app);
        const after = { ...current.values, ...set };
        for (const k of unset) delete after[k];
        const total = Object.entries(after).reduce((n, [k, v]) => n + k.length + v.length, 0);
        if (total > MAX_TOTAL)
          throw new ValidationError(
            `the config would hold ${total} bytes; at most ${MAX_TOTAL} are allowed`,
            "set",
          );
        ctx.send(
          200,
          test
            ? await changeTestConfig(tdeps, app, set, unset, ctx.who)
            : await apps.changeConfig(app, set, unset, ctx.who),
        );
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/releases",
      summary: "The app's releases, oldest first (config names only, never values)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "read");
        const list = await appsOf(deps).releases(app);
        ctx.send(
          200,
          list.map((r) => r.value),
        );
      },
    },
    {
      method: "POST",
      path: "/v1/apps/:app/releases/rollback",
      summary: "Roll back {version}: a new release with that release's code and config",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "deploy");
        const { version } = await ctx.json(RollbackSchema);
        ctx.send(200, await appsOf(deps).rollback(app, version, ctx.who));
      },
    },
    {
      method: "POST",
      path: "/v1/apps/:app/releases/unpin",
      summary:
        "Clear a rollback's pin: a stack may change the app's release again → {pinned: was it pinned}",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "deploy");
        ctx.send(200, await appsOf(deps).unpin(app, ctx.who));
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/deploys/current",
      summary:
        "The running (else queued, else last) deploy; ?release=N picks one; ?follow streams its progress as text, ending with `gantry:result {json}`",
      handler: async (ctx) => {
        ctx.allowQuery("follow", "release");
        const app = appParam(ctx, "read");
        const apps = appsOf(deps);
        const release = ctx.query.has("release")
          ? ctx.int("release", 0, 99_999_999)
          : await apps.currentDeployRelease(app);
        if (!ctx.flag("follow")) return sendDeploy(ctx, deps, app, release);
        // Errors (unknown app or release) are answered before the stream starts.
        const known = (await apps.releases(app)).some((r) => r.value.version === release);
        if (!known) throw new ValidationError(`${app} has no release v${release}`, "release");
        const out = textStream(ctx);
        const result = await apps.follow(app, release, out.line, requestSignal(ctx, deps.closing));
        out.end(result);
      },
    },
  ];
}

/** `?scope=`: the app's config (`release`, the default) or its TEST config (`test`). */
function scopeOf(ctx: Ctx): "release" | "test" {
  const raw = ctx.query.get("scope") ?? "release";
  const r = ConfigScopeSchema.safeParse(raw);
  if (!r.success) throw new ValidationError(`scope must be release or test, not "${raw}"`, "scope");
  return r.data;
}

const ConfigScopeSchema = z.enum(["release", "test"]);

/** The deploy record when it is about `release`; else what the release record says. */
async function sendDeploy(ctx: Ctx, deps: ApiDeps, app: string, release: number): Promise<void> {
  const apps = appsOf(deps);
  const info = await apps.info(app, "");
  const rel = (await apps.releases(app)).find((r) => r.value.version === release)?.value;
  if (rel === undefined) throw new ValidationError(`${app} has no release v${release}`, "release");
  const deploy = await apps.deployRecord(app);
  if (deploy !== undefined && deploy.release === release) return ctx.send(200, deploy);
  ctx.send(200, {
    app,
    release,
    previous: info.currentRelease,
    status:
      rel.status === "failed" || rel.status === "abandoned"
        ? "failed"
        : rel.status === "active" || rel.status === "superseded"
          ? "succeeded"
          : "pending",
    ...(rel.error === undefined ? {} : { error: rel.error }),
    log: [],
  });
}
