import { createHash } from "node:crypto";
import * as z from "zod";
import { AppNameSchema, ConfigNameSchema } from "./app.js";
import { formatDuration, parseDuration } from "./duration.js";

/**
 * Pipelines (issue 15, docs/delivery/pipelines.md): apps in stages (staging → production). A
 * release of one stage is promoted to the next with the same artifact and the next stage's
 * config; with review apps on, a branch pushed to a pipeline's app is built into its own app.
 *
 *   pipelines/<name>                Pipeline (review config values encrypted, AES-256-GCM)
 *   sys/pipeline-apps/<app>         the name of the pipeline the app is a stage of (one at most)
 */

/** Pipeline names are DNS labels: review apps are named after them. */
export const PipelineNameSchema = AppNameSchema;

/** Stage names: `staging`, `production`… */
export const StageNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,29}$/,
    "must be lower-case letters, digits and -, starting with a letter",
  );

export const StageSchema = z.strictObject({ name: StageNameSchema, app: AppNameSchema });
export type Stage = z.infer<typeof StageSchema>;

/** Review apps untouched this long are destroyed (default 5 days). */
export const DEFAULT_STALE_AFTER_MS = 5 * 24 * 3_600_000;
export const StaleAfterMsSchema = z
  .number()
  .int()
  .min(1000)
  .max(365 * 24 * 3_600_000);

export const ReviewAppsSchema = z.strictObject({
  enabled: z.boolean(),
  staleAfterMs: StaleAfterMsSchema,
  /** Config every review app gets on top of its parent's (encrypted like app config). */
  config: z.record(ConfigNameSchema, z.string()),
  /** reviewConfigDigest of the values: a stack tells a change without reading them. */
  configDigest: z.string().optional(),
});

export const PipelineSchema = z.strictObject({
  name: PipelineNameSchema,
  stages: z.array(StageSchema).min(2).max(10),
  reviewApps: ReviewAppsSchema.optional(),
  /** Promote only releases whose build passed its tests. */
  requireTests: z.boolean(),
  /** Config names the target stage must have before a promotion to it. */
  requiredConfig: z.array(ConfigNameSchema).max(100),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string().optional(),
});
export type Pipeline = z.infer<typeof PipelineSchema>;

/** A pipeline as the API shows it: review config names, never values. */
export type PipelineView = Omit<Pipeline, "reviewApps"> & {
  reviewApps?: Omit<Pipeline["reviewApps"] & object, "config"> & { configNames: string[] };
};

export const pipelineView = (p: Pipeline): PipelineView => {
  const { reviewApps, ...rest } = p;
  if (reviewApps === undefined) return rest;
  const { config, ...r } = reviewApps;
  return { ...rest, reviewApps: { ...r, configNames: Object.keys(config).sort() } };
};

/** The secret box context of a review config value (not an app's: nothing else opens it). */
export const reviewConfigContext = (pipeline: string, name: string): string =>
  `pipeline ${pipeline}/${name}`;

/** A digest of review config values (sha256 over the pipeline name and the sorted pairs). */
export function reviewConfigDigest(pipeline: string, values: Record<string, string>): string {
  const pairs = Object.keys(values)
    .sort()
    .map((k) => [k, values[k]]);
  return createHash("sha256")
    .update(`gantry review config\n${pipeline}\n${JSON.stringify(pairs)}`)
    .digest("hex");
}

/** Stage names and apps are unique; the problem in words, or undefined. */
export function stagesProblem(
  stages: readonly Stage[],
): { message: string; field: string } | undefined {
  const names = new Set<string>();
  const apps = new Set<string>();
  for (const [i, s] of stages.entries()) {
    if (names.has(s.name))
      return { message: `stage ${s.name} appears twice`, field: `stages.${i}.name` };
    if (apps.has(s.app))
      return {
        message: `app ${s.app} is in two stages: an app is in one stage at most`,
        field: `stages.${i}.app`,
      };
    names.add(s.name);
    apps.add(s.app);
  }
  return undefined;
}

/** `5d`, `12h`, `30m`, `90s`, `1h30m` → milliseconds; undefined when not one. */
export function parseStaleAfter(text: string): number | undefined {
  const days = /^([1-9][0-9]{0,2})d$/.exec(text);
  if (days !== null) return Number(days[1]) * 24 * 3_600_000;
  return parseDuration(text);
}

/** Milliseconds as `5d`, `12h`, `1m30s`. */
export const formatStaleAfter = (ms: number): string =>
  ms % (24 * 3_600_000) === 0 ? `${ms / (24 * 3_600_000)}d` : formatDuration(ms);

const MAX_NAME = 30;

/**
 * The review app of `branch` in pipeline `pipeline`: `<pipeline>-<branch as a DNS label>`, e.g.
 * `hello-feature-login`. Longer than 30 characters, it is shortened and ends with a hash of the
 * branch, so the same branch always gets the same name and different ones different names.
 */
export function reviewAppName(pipeline: string, branch: string): string {
  const slug = branch
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const full = slug === "" ? "" : `${pipeline}-${slug}`;
  if (full !== "" && full.length <= MAX_NAME) return full;
  const hash = createHash("sha256").update(branch).digest("hex").slice(0, 6);
  const head = `${pipeline}-${slug}`.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, "");
  return `${head}-${hash}`;
}
