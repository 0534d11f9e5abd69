import { resolve } from "node:path";
import { AppsClient } from "../../client/apps.js";
import { GantryError } from "../../errors.js";
import type { FieldChange, KindContext, LiveItem, SpecItem } from "../kind.js";
import type { LiveApp } from "./apps-read.js";
import {
  wantedFormation,
  wantedHttps,
  wantedReleaseTimeout,
  wantedRuntime,
  wantedSettings,
  wantedTests,
  type AppSpec,
} from "./apps-schema.js";
import { packFiles, readSourceFolder } from "./apps-source.js";

/** A deploy the stack started failed: the item fails with the deploy's reason. */
export class AppDeployError extends GantryError {
  constructor(app: string, what: string, reason: string) {
    super("deploy_failed", `${app}: ${what} failed: ${reason}`, { status: 500 });
  }
}

/**
 * Make an app match its spec, doing only the parts `fields` name (a create passes them all):
 * settings and domains (no deploy), config (a release, followed to its end), the `source:`
 * folder (a build and its deploy, streamed), then the formation (its scaling followed), which
 * needs a release with the process types. Fields marked `info` are never acted on.
 */
export async function applyApp(
  ctx: KindContext,
  item: SpecItem<AppSpec>,
  live: LiveApp | undefined,
  fields: readonly FieldChange[],
): Promise<void> {
  const apps = new AppsClient(ctx.client);
  const app = item.name;
  const spec = item.spec;
  const acted = fields.filter((f) => f.info !== true);
  const touches = (p: (path: string) => boolean): boolean => acted.some((f) => p(f.path));
  const want = wantedSettings(spec);

  if (live === undefined) {
    await apps.create(app, want);
    ctx.progress(`created ${app}`);
  } else if (touches((p) => ["healthPath", "deployTimeout", "drain"].includes(p))) {
    await apps.settings(app, want);
    ctx.progress(`settings of ${app}: health ${want.healthPath}`);
  }

  if (touches((p) => p === "runtime" || p === "buildArgs" || p.startsWith("container."))) {
    const r = wantedRuntime(spec);
    const answer = await apps.settings(app, {
      runtime: r.runtime,
      container: {
        memoryMb: r.container.memoryMb ?? null,
        pids: r.container.pids ?? null,
        readOnly: r.container.readOnly ?? null,
      },
      buildArgs: r.buildArgs,
    });
    ctx.progress(`runtime of ${app}: ${r.runtime}`);
    if (answer.newRelease !== undefined)
      await follow(ctx, apps, app, answer.newRelease, "the runtime release");
  }

  if (touches((p) => p === "httpsRedirect" || p === "hsts")) {
    const h = wantedHttps(spec);
    await apps.settings(app, h);
    ctx.progress(`https of ${app}: redirect ${h.httpsRedirect}, hsts ${h.hsts}`);
  }

  if (touches((p) => p === "test" || p === "testTimeout")) {
    const t = wantedTests(spec);
    await apps.settings(app, t);
    ctx.progress(`tests of ${app}: ${t.test || "(Procfile test: line)"}`);
  }

  const releaseTimeoutMs = wantedReleaseTimeout(spec);
  if (touches((p) => p === "releaseTimeout") && releaseTimeoutMs !== undefined) {
    await apps.settings(app, { releaseTimeoutMs });
    ctx.progress(`release phase of ${app}: time limit ${spec.releaseTimeout}`);
  }

  if (touches((p) => p === "cpu" || p === "constraints" || p === "spread")) {
    await apps.settings(app, {
      ...(spec.cpu === undefined ? {} : { cpu: spec.cpu }),
      ...(spec.constraints === undefined ? {} : { constraints: spec.constraints }),
      ...(spec.spread === undefined ? {} : { spread: spec.spread }),
    });
    ctx.progress(
      `placement of ${app}: ${[
        spec.cpu === undefined ? "" : `cpu ${spec.cpu}`,
        spec.constraints === undefined
          ? ""
          : `constraints ${spec.constraints.join(",") || "(none)"}`,
        spec.spread === undefined ? "" : `spread ${spec.spread}`,
      ]
        .filter((x) => x !== "")
        .join(", ")}`,
    );
  }

  if (touches((p) => p === "domains")) {
    const wanted = new Set(spec.domains ?? []);
    const current = new Set(live?.domains ?? []);
    for (const d of current) if (!wanted.has(d)) await apps.removeDomain(app, d);
    for (const d of wanted) if (!current.has(d)) await apps.addDomain(app, d);
    ctx.progress(`domains of ${app}: ${[...wanted].sort().join(", ") || "(none)"}`);
  }

  const config = acted.filter((f) => f.path.startsWith("config."));
  if (config.length > 0) {
    const set: Record<string, string> = {};
    const unset: string[] = [];
    for (const f of config) {
      const name = f.path.slice("config.".length);
      const value = spec.config?.[name];
      if (value === undefined) unset.push(name);
      else set[name] = value;
    }
    const answer = await apps.changeConfig(app, { set, unset });
    if (answer.changed) await follow(ctx, apps, app, answer.version, "the config release");
  }
  for (const f of fields)
    if (f.path.startsWith("secrets."))
      ctx.progress(`warning: ${app}: secret ${f.path.slice(8)} is not set (gantry config:set)`);

  if (touches((p) => p === "source") && spec.source !== undefined)
    await build(ctx, apps, app, resolve(ctx.dir, spec.source));

  const formation = acted.filter((f) => f.path.startsWith("formation."));
  if (formation.length > 0) {
    const info = await apps.info(app);
    const types = Object.keys(info.release?.processTypes ?? {});
    if (types.length === 0) {
      ctx.progress(`${app}: the formation waits for the first build (git push)`);
      return;
    }
    const target = wantedFormation(spec, types);
    const changes = Object.fromEntries(
      formation.map((f) => f.path.slice("formation.".length)).map((t) => [t, target[t] ?? 0]),
    );
    const scaled = await apps.scale(app, changes);
    const what = Object.entries(changes)
      .map(([t, n]) => `${t}=${n}`)
      .join(" ");
    if (scaled.scaling === undefined) return ctx.progress(`${app}: formation ${what} (no change)`);
    ctx.progress(`scaling ${app}: ${what}`);
    const result = await apps.followScale(app, {
      id: scaled.scaling,
      onLine: ctx.progress,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (!result.ok)
      throw new AppDeployError(app, `scaling to ${what}`, result.error ?? "unknown reason");
  }
}

/** Build the folder (a tar of its files, tagged with its hash) and follow the deploy. */
async function build(ctx: KindContext, apps: AppsClient, app: string, dir: string): Promise<void> {
  const folder = await readSourceFolder(dir);
  const tar = await packFiles(dir, folder.files);
  ctx.progress(
    `building ${app} from ${folder.files.length} files (source ${folder.hash.slice(0, 12)})`,
  );
  const result = await apps.upload(app, tar, {
    commit: folder.commit ?? "upload",
    source: folder.hash,
    onLine: ctx.progress,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (!result.ok) throw new AppDeployError(app, "the build", result.error ?? "unknown reason");
  ctx.progress(`${app} v${result.release ?? "?"} is live${result.url ? ` at ${result.url}` : ""}`);
}

async function follow(
  ctx: KindContext,
  apps: AppsClient,
  app: string,
  version: number,
  what: string,
): Promise<void> {
  ctx.progress(`${app}: ${what} v${version}, deploying`);
  const result = await apps.followDeploy(app, {
    release: version,
    onLine: ctx.progress,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (!result.ok)
    throw new AppDeployError(app, `the deploy of v${version}`, result.error ?? "unknown reason");
}

/** Destroy: the app and everything of it (`apps:destroy`). */
export async function destroyApp(ctx: KindContext, live: LiveItem<LiveApp>): Promise<void> {
  const r = await new AppsClient(ctx.client).destroy(live.name, live.name);
  ctx.progress(`destroyed ${live.name} (${r.stopped} instance(s) stopped)`);
}
