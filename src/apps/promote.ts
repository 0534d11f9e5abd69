/**
 * Promotion (issue 15): the release a pipeline stage serves, made again on the next stage with
 * the same code — artifact or image, process types, build, runtime; nothing is rebuilt — and the
 * next stage's own config. The release says where it came from (`promotedFrom`), and the build
 * record is copied to the target app so its release keeps naming a build it has.
 */
import type { AuditLog } from "../audit/log.js";
import { ArtifactStore } from "../build/artifacts.js";
import { buildKey } from "../build/builder.js";
import { GantryError } from "../errors.js";
import { BuildSchema, type App, type Release } from "../model/app.js";
import type { Pipeline, Stage } from "../model/pipeline.js";
import type { Principal } from "../model/principal.js";
import type { Store, TxnOp } from "../store/index.js";
import { readAppJson, requiredEnv } from "./app-json.js";
import { pipelineOfApp } from "./pipelines.js";
import { parseRecord } from "./records.js";
import { codeFields, hasCode } from "./release-code.js";
import { createRelease, readReleaseState } from "./releases.js";

/** A promotion that may not happen, and why (the response names what to do). */
export class PromotionRefused extends GantryError {
  constructor(message: string, field?: string) {
    super(
      "promotion_refused",
      message,
      field === undefined ? { status: 400 } : { status: 400, field },
    );
  }
}

export interface PromoteAnswer {
  changed: true;
  /** The target app and the release made on it (follow its deploy). */
  app: string;
  version: number;
  pipeline: string;
  stage: string;
  from: { app: string; version: number; stage: string };
}

/** The stage an app is, and the stage a promotion goes to (`to`, else the next one). */
export function promotionTarget(
  pipeline: Pipeline,
  app: string,
  to: string | undefined,
): { from: Stage; target: Stage } {
  const i = pipeline.stages.findIndex((s) => s.app === app);
  const from = pipeline.stages[i]!;
  if (to === undefined) {
    const next = pipeline.stages[i + 1];
    if (next === undefined)
      throw new PromotionRefused(
        `${app} is the last stage (${from.name}) of pipeline ${pipeline.name}: there is no stage after it to promote to`,
      );
    return { from, target: next };
  }
  const j = pipeline.stages.findIndex((s) => s.name === to);
  if (j < 0)
    throw new PromotionRefused(
      `pipeline ${pipeline.name} has no stage "${to}" (its stages: ${pipeline.stages.map((s) => s.name).join(", ")})`,
      "to",
    );
  if (j <= i)
    throw new PromotionRefused(
      `stage ${to} is not after ${from.name} in pipeline ${pipeline.name}: promotions go forward`,
      "to",
    );
  return { from, target: pipeline.stages[j]! };
}

/** Config names the target lacks (pipeline `requiredConfig`), in the order they were declared. */
export const missingConfig = (pipeline: Pipeline, names: readonly string[]): string[] =>
  pipeline.requiredConfig.filter((n) => !names.includes(n));

/** The refusal for names the target lacks: the pipeline's `requiredConfig`, app.json's `required`. */
export function missingRefusal(
  pipeline: Pipeline,
  target: Stage,
  have: readonly string[],
  appJson: readonly string[],
): PromotionRefused | undefined {
  const fromPipeline = missingConfig(pipeline, have);
  const fromAppJson = appJson.filter((n) => !have.includes(n) && !fromPipeline.includes(n));
  const missing = [...fromPipeline, ...fromAppJson];
  if (missing.length === 0) return undefined;
  const who = [
    ...(fromPipeline.length > 0 ? [`pipeline ${pipeline.name}`] : []),
    ...(fromAppJson.length > 0 ? ["the app's app.json"] : []),
  ].join(" and ");
  return new PromotionRefused(
    `${target.app} (stage ${target.name}) lacks config ${missing.join(", ")}, which ${who} requires: set it with gantry config:set ${target.app} ${missing[0]}=…`,
    "config",
  );
}

/**
 * Promote what `app` serves to the next stage (or `to`). With `dataDir`, the names the slug's
 * app.json marks required are required too. `authorize` is called with the target
 * app before anything is written (the caller checks the token may deploy it).
 */
export async function promote(
  deps: { store: Store; audit: AuditLog; dataDir?: string },
  app: string,
  to: string | undefined,
  who: Principal,
  authorize: (target: string) => void = () => undefined,
): Promise<PromoteAnswer> {
  const { store } = deps;
  const p = await pipelineOfApp(store, app);
  if (p === undefined)
    throw new PromotionRefused(
      `${app} is in no pipeline: make one with gantry pipelines:create NAME --stage staging=${app} --stage production=APP`,
      "app",
    );
  const pipeline = p.value;
  const { from, target } = promotionTarget(pipeline, app, to);
  authorize(target.app);
  const source = await readReleaseState(store, app);
  const rel = source.releases.find(
    (r) => r.value.version === source.app.value.currentRelease,
  )?.value;
  if (rel === undefined || !hasCode(rel))
    throw new PromotionRefused(`${app} has no code to promote: push to it first`, "app");
  const build =
    rel.build === undefined
      ? undefined
      : parseRecord(await store.get(buildKey(app, rel.build)), BuildSchema);
  if (pipeline.requireTests && build?.test?.status !== "passed")
    throw new PromotionRefused(
      `${app} v${rel.version} did not pass its tests (${build?.test === undefined ? "no test ran" : `test ${build.test.status}`}), and pipeline ${pipeline.name} promotes only tested releases`,
      "app",
    );
  const appJson =
    rel.artifact === undefined || deps.dataDir === undefined
      ? []
      : requiredEnv((await readAppJson(new ArtifactStore(deps.dataDir).path(rel.artifact))) ?? "");
  const made = await createRelease(store, deps.audit, who, target.app, (state) => {
    const refused = missingRefusal(
      pipeline,
      target,
      Object.keys(state.config.value.values),
      appJson,
    );
    if (refused !== undefined) throw refused;
    const ops: TxnOp[] =
      build === undefined
        ? []
        : [
            {
              type: "put",
              key: buildKey(target.app, build.id),
              value: JSON.stringify({ ...build, app: target.app }),
            },
          ];
    return {
      action: "app.promote",
      ...(state.app.value.pinned === undefined ? {} : { app: unpinned }),
      ops,
      draft: draftOf(rel, app, pipeline.name),
    };
  });
  return {
    changed: true,
    app: target.app,
    version: made!.version,
    pipeline: pipeline.name,
    stage: target.name,
    from: { app, version: rel.version, stage: from.name },
  };
}

/** The target's release draft: the source release's code, described as a promotion. */
function draftOf(rel: Release, app: string, pipeline: string) {
  return {
    ...codeFields(rel),
    processTypes: rel.processTypes,
    description: `Promote ${app} v${rel.version}`,
    promotedFrom: { app, version: rel.version, pipeline },
  };
}

const unpinned = ({ pinned: _pinned, ...app }: App): App => app;
