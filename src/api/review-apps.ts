/**
 * Review apps (issue 15, docs/delivery/pipelines.md): a branch pushed to an app of a pipeline
 * with review apps on is built into an app of its own, `<pipeline>-<branch>`, made on its first
 * push with the pushed app's config plus the pipeline's review overrides. Deleting the branch
 * destroys it; so does the leader's sweep once it is untouched for `staleAfter`.
 *
 * `reviewBuild` and `destroyReview` are what every source of branches calls: the git hook (via
 * the reviews routes) and connected outside repositories (pull requests).
 */
import type { Readable } from "node:stream";
import { destroyAppImages } from "../apps/destroy-images.js";
import { appKey, configKey, testConfigKey } from "../apps/keys.js";
import { pipelineOfApp } from "../apps/pipelines.js";
import { parseAll, parseRecord } from "../apps/records.js";
import { APP_DEFAULTS } from "../apps/service.js";
import { readTestConfig } from "../apps/test-config.js";
import type { BuildStreamResult } from "../build/result.js";
import { conflict } from "../errors.js";
import { AppConfigSchema, AppSchema, type App } from "../model/app.js";
import { K } from "../model/keys.js";
import { reviewAppName, reviewConfigContext, type Pipeline } from "../model/pipeline.js";
import type { Principal } from "../model/principal.js";
import { buildAndRelease } from "./build-release.js";
import { appsOf } from "./routes/apps-common.js";
import type { ApiDeps } from "./server.js";

export interface ReviewBuildOptions {
  /** The pipeline app the branch was pushed to (the review app's parent). */
  app: string;
  /** The branch, without `refs/heads/`. */
  branch: string;
  /** The commit (full sha). */
  commit: string;
  /** Its source: a tar stream. */
  source: Readable;
  who: Principal;
  write: (line: string) => void;
  signal: AbortSignal;
}

export type ReviewBuildResult = BuildStreamResult & { review: string; url: string };

/** The pipeline of `app` when it has review apps on; undefined otherwise. */
export async function reviewPipeline(deps: ApiDeps, app: string): Promise<Pipeline | undefined> {
  const p = await pipelineOfApp(deps.store, app);
  return p?.value.reviewApps?.enabled === true ? p.value : undefined;
}

/**
 * Build `commit` of `branch` into its review app (made when absent), release and deploy it,
 * streaming every line to `write`. Undefined when `app` is in no pipeline with review apps on
 * (nothing was done).
 */
export async function reviewBuild(
  deps: ApiDeps,
  o: ReviewBuildOptions,
): Promise<ReviewBuildResult | undefined> {
  const pipeline = await reviewPipeline(deps, o.app);
  if (pipeline === undefined) return undefined;
  const name = reviewAppName(pipeline.name, o.branch);
  const apps = appsOf(deps);
  const made = await ensureReviewApp(deps, pipeline, o, name);
  o.write(
    `-----> Review app ${name} for branch ${o.branch} (${made ? "created" : "updating"}; pipeline ${pipeline.name})`,
  );
  const result = await buildAndRelease(deps, {
    app: name,
    commit: o.commit,
    source: o.source,
    who: o.who,
    startOps: [
      deps.audit.entry(o.who, "app.review.build", `${name} ${o.branch}@${o.commit.slice(0, 12)}`),
    ],
    write: o.write,
    signal: o.signal,
  });
  // Made for this push, which is rejected: the branch never reaches the server, so no deletion
  // would come for it.
  if (!result.ok && made) {
    o.write(`-----> removing review app ${name}: its first build or deploy failed`);
    await destroyReviewApp(deps, name, o.who).catch(() => undefined);
  }
  return { ...result, review: name, url: apps.appUrl(name) };
}

/**
 * Make the review app (its config: the parent's plus the pipeline's overrides), or mark the
 * existing one touched by this commit. Answers whether it was made. An app of that name that is
 * not this branch's review app is refused.
 */
async function ensureReviewApp(
  deps: ApiDeps,
  pipeline: Pipeline,
  o: ReviewBuildOptions,
  name: string,
): Promise<boolean> {
  const apps = appsOf(deps);
  const now = new Date().toISOString();
  const review = {
    pipeline: pipeline.name,
    parent: o.app,
    branch: o.branch,
    commit: o.commit,
    updatedAt: now,
  };
  const existing = parseRecord(await deps.store.get(appKey(name)), AppSchema);
  if (existing !== undefined) {
    const r = existing.review;
    if (r === undefined || r.parent !== o.app || r.branch !== o.branch)
      throw conflict(
        `an app named ${name} exists and is not the review app of ${o.app} branch ${o.branch}: destroy or rename it`,
      );
    await apps.updateApp(name, o.who, "app.review.update", (a) => ({ ...a, review }));
    return false;
  }
  const parent = await apps.config(o.app);
  const parentApp = parseRecord(await deps.store.get(appKey(o.app)), AppSchema);
  const box = apps.secrets;
  const overrides = pipeline.reviewApps?.config ?? {};
  const values: Record<string, string> = { ...parent.values };
  for (const [k, sealed] of Object.entries(overrides))
    values[k] = box.decrypt(sealed, reviewConfigContext(pipeline.name, k));
  const app: App = AppSchema.parse({
    name,
    createdAt: now,
    createdBy: o.who.name,
    domains: [],
    formation: {},
    ...APP_DEFAULTS,
    ...(parentApp === undefined ? {} : inherited(parentApp)),
    currentRelease: 0,
    review,
  });
  const config = AppConfigSchema.parse({ version: 1, values: box.seal(name, values) });
  // Its builds run their tests as the parent's do: with the parent's TEST config.
  const parentTest = await readTestConfig({ store: deps.store, secrets: box }, o.app);
  const testConfig = AppConfigSchema.parse({
    version: 1,
    values: box.seal(name, parentTest.values, "test"),
  });
  const res = await deps.store.txn({
    compare: [{ key: appKey(name), target: "version", op: "==", value: 0 }],
    success: [
      { type: "put", key: appKey(name), value: JSON.stringify(app) },
      { type: "put", key: configKey(name), value: JSON.stringify(config) },
      ...(Object.keys(testConfig.values).length === 0
        ? []
        : [{ type: "put" as const, key: testConfigKey(name), value: JSON.stringify(testConfig) }]),
      deps.audit.entry(o.who, "app.review.create", `${name} ${pipeline.name} ${o.app} ${o.branch}`),
    ],
  });
  if (!res.succeeded) return ensureReviewApp(deps, pipeline, o, name);
  return true;
}

/** What a review app takes from its parent: how it is checked, run, built and tested. */
function inherited(parent: App): Partial<App> {
  const {
    healthPath,
    deployTimeoutMs,
    drainMs,
    runtime,
    container,
    buildArgs,
    test,
    testTimeoutMs,
  } = parent;
  return {
    healthPath,
    deployTimeoutMs,
    drainMs,
    ...(runtime === undefined ? {} : { runtime }),
    ...(container === undefined ? {} : { container }),
    ...(buildArgs === undefined ? {} : { buildArgs }),
    ...(test === undefined ? {} : { test }),
    ...(testTimeoutMs === undefined ? {} : { testTimeoutMs }),
  };
}

/** The review apps of a pipeline app (or of a whole pipeline, with `pipeline`). */
export async function reviewApps(
  deps: Pick<ApiDeps, "store">,
  of: { app?: string; pipeline?: string },
): Promise<App[]> {
  const all = parseAll((await deps.store.range({ prefix: K.apps })).kvs, AppSchema);
  return all
    .map((a) => a.value)
    .filter(
      (a) =>
        a.review !== undefined &&
        (of.app === undefined || a.review.parent === of.app) &&
        (of.pipeline === undefined || a.review.pipeline === of.pipeline),
    );
}

/** Destroy one review app (records, instances, repo, logs, its images), audited as `why`. */
export async function destroyReviewApp(deps: ApiDeps, name: string, who: Principal): Promise<void> {
  await appsOf(deps).destroy(name, who);
  await destroyAppImages(name, deps.registry, deps.docker).catch(() => undefined);
}

/**
 * The branch is gone: destroy its review app. Answers the review app's name, or undefined when
 * there was none (or `app` is in no pipeline).
 */
export async function destroyReview(
  deps: ApiDeps,
  o: { app: string; branch: string; who: Principal },
): Promise<string | undefined> {
  const p = await pipelineOfApp(deps.store, o.app);
  if (p === undefined) return undefined;
  const name = reviewAppName(p.value.name, o.branch);
  const app = parseRecord(await deps.store.get(appKey(name)), AppSchema);
  if (app?.review === undefined || app.review.parent !== o.app || app.review.branch !== o.branch)
    return undefined;
  await deps.store.txn({
    success: [
      deps.audit.entry(o.who, "app.review.destroy", `${name} (branch ${o.branch} deleted)`),
    ],
  });
  await destroyReviewApp(deps, name, o.who);
  return name;
}
