import * as z from "zod";
import type { PipelineStatus } from "../../apps/pipeline-status.js";
import { PipelinesClient, type PipelineUpdate } from "../../client/pipelines.js";
import { AppNameSchema, ConfigNameSchema } from "../../model/app.js";
import {
  DEFAULT_STALE_AFTER_MS,
  formatStaleAfter,
  parseStaleAfter,
  PipelineNameSchema,
  reviewConfigDigest,
  StageNameSchema,
  stagesProblem,
  type Stage,
} from "../../model/pipeline.js";
import type { FieldChange, Kind, SpecProblem } from "../kind.js";

const StaleAfterText = z.string().refine((s) => {
  const ms = parseStaleAfter(s);
  return ms !== undefined && ms >= 1000 && ms <= 365 * 86_400_000;
}, "a duration from 1s to 365d, such as 5d, 12h or 30m");

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/** `pipelines.<name>` in gantry.yaml (docs/delivery/pipelines.md, "In the stack"). */
export const PipelineSpecSchema = z.strictObject({
  /** In order: `{staging: hello-staging, production: hello}`. */
  stages: z.record(StageNameSchema, AppNameSchema),
  reviewApps: z
    .union([
      z.boolean().transform((enabled) => ({ enabled, staleAfter: undefined, config: {} })),
      z.strictObject({
        enabled: z.boolean().default(true),
        staleAfter: StaleAfterText.optional(),
        config: z.record(ConfigNameSchema, scalar).default({}),
      }),
    ])
    .optional(),
  requireTests: z.boolean().default(false),
  requiredConfig: z.array(ConfigNameSchema).max(100).default([]),
});
export type PipelineSpec = z.infer<typeof PipelineSpecSchema>;

const stagesOf = (spec: PipelineSpec): Stage[] =>
  Object.entries(spec.stages).map(([name, app]) => ({ name, app }));
const staleMs = (spec: PipelineSpec): number =>
  parseStaleAfter(spec.reviewApps?.staleAfter ?? "") ?? DEFAULT_STALE_AFTER_MS;
const stagesText = (stages: readonly Stage[]): string =>
  stages.map((s) => `${s.name}=${s.app}`).join(" → ");

/**
 * `pipelines:` — pipelines of apps (issue 15). Rank 35: after apps (30), whose apps the stages
 * name; the apps may also be made outside the stack, so there are no refs. Review config values
 * are compared by digest, never read back.
 */
export const pipelineKind: Kind<PipelineSpec, PipelineStatus> = {
  name: "pipeline",
  section: "pipelines",
  rank: 35,
  schema: PipelineSpecSchema,

  check(items) {
    const problems = new Map<string, SpecProblem[]>();
    for (const item of items) {
      const list: SpecProblem[] = [];
      const name = PipelineNameSchema.safeParse(item.name);
      if (!name.success)
        list.push({ path: "", message: `a pipeline name ${name.error.issues[0]!.message}` });
      const stages = stagesOf(item.spec);
      if (stages.length < 2)
        list.push({
          path: "stages",
          message: "a pipeline needs at least 2 stages, e.g. staging and production",
        });
      const bad = stagesProblem(stages);
      if (bad !== undefined) list.push({ path: "stages", message: bad.message });
      if (list.length > 0) problems.set(item.name, list);
    }
    return problems;
  },

  async read(ctx, names) {
    const wanted = new Set(names);
    const out = new Map();
    if (wanted.size === 0) return out;
    for (const p of await new PipelinesClient(ctx.client).list()) {
      if (!wanted.has(p.name)) continue;
      const { modRevision, ...value } = p;
      out.set(p.name, { name: p.name, value, revisions: { [`pipelines/${p.name}`]: modRevision } });
    }
    return out;
  },

  diff(item, live) {
    return diffPipeline(item.name, item.spec, live?.value);
  },

  async create(ctx, item) {
    const s = item.spec;
    await new PipelinesClient(ctx.client).create({
      name: item.name,
      stages: stagesOf(s),
      ...(s.reviewApps === undefined
        ? {}
        : {
            reviewApps: {
              enabled: s.reviewApps.enabled,
              staleAfterMs: staleMs(s),
              config: s.reviewApps.config,
            },
          }),
      requireTests: s.requireTests,
      requiredConfig: s.requiredConfig,
    });
    ctx.progress(`pipeline ${item.name}: ${stagesText(stagesOf(s))}`);
  },
  async update(ctx, item, live) {
    await new PipelinesClient(ctx.client).update(item.name, updateOf(item.spec, live.value));
  },
  async destroy(ctx, name) {
    await new PipelinesClient(ctx.client).delete(name, name);
  },
};

/** The whole spec as an update: review config set as declared, undeclared names removed. */
function updateOf(spec: PipelineSpec, live: PipelineStatus): PipelineUpdate {
  const config: Record<string, string | null> = { ...(spec.reviewApps?.config ?? {}) };
  for (const k of live.reviewApps?.configNames ?? []) if (!(k in config)) config[k] = null;
  return {
    stages: stagesOf(spec),
    reviewApps: {
      enabled: spec.reviewApps?.enabled ?? false,
      staleAfterMs: staleMs(spec),
      config,
    },
    requireTests: spec.requireTests,
    requiredConfig: spec.requiredConfig,
  };
}

/** Pure: what differs between the spec and the live pipeline. */
export function diffPipeline(
  name: string,
  spec: PipelineSpec,
  live: PipelineStatus | undefined,
): FieldChange[] {
  const want = {
    stages: stagesText(stagesOf(spec)),
    reviewApps: spec.reviewApps?.enabled ?? false,
    staleAfter: formatStaleAfter(staleMs(spec)),
    requireTests: spec.requireTests,
    requiredConfig: spec.requiredConfig.join(", "),
  };
  const config: Record<string, string> = spec.reviewApps?.config ?? {};
  if (live === undefined) {
    const out: FieldChange[] = Object.entries(want).map(([path, v]) => ({ path, new: v }));
    for (const k of Object.keys(config).sort())
      out.push({ path: `reviewApps.config.${k}`, new: config[k], sensitive: true });
    return out;
  }
  const have = {
    stages: stagesText(live.stages),
    reviewApps: live.reviewApps?.enabled ?? false,
    staleAfter: formatStaleAfter(live.reviewApps?.staleAfterMs ?? DEFAULT_STALE_AFTER_MS),
    requireTests: live.requireTests,
    requiredConfig: live.requiredConfig.join(", "),
  };
  const out: FieldChange[] = [];
  for (const k of Object.keys(want) as (keyof typeof want)[])
    if (want[k] !== have[k]) out.push({ path: k, old: have[k], new: want[k] });
  const liveDigest = live.reviewApps?.configDigest ?? reviewConfigDigest(name, {});
  if (reviewConfigDigest(name, config) !== liveDigest) {
    const names = new Set([...Object.keys(config), ...(live.reviewApps?.configNames ?? [])]);
    for (const k of [...names].sort())
      out.push({
        path: `reviewApps.config.${k}`,
        old: "(set)",
        ...(k in config ? { new: config[k] } : {}),
        sensitive: true,
      });
  }
  return out;
}
