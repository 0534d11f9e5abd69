import type { Command } from "commander";
import { PipelinesClient, type PipelineUpdate } from "../client/pipelines.js";
import { ValidationError } from "../errors.js";
import { AppNameSchema, ConfigNameSchema } from "../model/app.js";
import {
  parseStaleAfter,
  PipelineNameSchema,
  StageSchema,
  StaleAfterMsSchema,
  type Stage,
} from "../model/pipeline.js";
import { json, type Output } from "../output/output.js";
import { parseWith } from "../validate.js";
import { clientFromEnv } from "./config.js";
import { showPipeline, showPipelines, showReviews } from "./pipelines-show.js";
import { appsClient, followRelease } from "./releases.js";

const pipelines = (): PipelinesClient => new PipelinesClient(clientFromEnv());
const collect = (v: string, all: string[] = []): string[] => [...all, v];

/** `--stage staging=hello-staging` → {name, app}. */
export function parseStage(raw: string): Stage {
  const eq = raw.indexOf("=");
  if (eq <= 0)
    throw new ValidationError(
      `--stage takes NAME=APP, like staging=hello-staging, not "${raw}"`,
      "--stage",
    );
  return parseWith(StageSchema, { name: raw.slice(0, eq), app: raw.slice(eq + 1) }, "--stage");
}

/** `--review-config K=V` pairs → {K: V}. */
export function parseConfigPairs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of pairs) {
    const eq = raw.indexOf("=");
    if (eq <= 0)
      throw new ValidationError(
        `--review-config takes NAME=VALUE, not "${raw}"`,
        "--review-config",
      );
    out[parseWith(ConfigNameSchema, raw.slice(0, eq), "--review-config")] = raw.slice(eq + 1);
  }
  return out;
}

function staleAfter(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseStaleAfter(raw);
  if (ms === undefined)
    throw new ValidationError(
      `--stale-after takes a duration like 5d, 12h or 30m, not "${raw}"`,
      "--stale-after",
    );
  return parseWith(StaleAfterMsSchema, ms, "--stale-after");
}

interface ChangeOpts {
  stage?: string[];
  reviewApps?: boolean;
  staleAfter?: string;
  requireTests?: boolean;
  requireConfig?: string[];
  reviewConfig?: string[];
  unsetReviewConfig?: string[];
}

/** The flags of pipelines:update as a change (only what was given). */
function updateOf(opts: ChangeOpts): PipelineUpdate {
  const ms = staleAfter(opts.staleAfter);
  const config: Record<string, string | null> = parseConfigPairs(opts.reviewConfig ?? []);
  for (const k of opts.unsetReviewConfig ?? [])
    config[parseWith(ConfigNameSchema, k, "--unset-review-config")] = null;
  const review =
    opts.reviewApps !== undefined || ms !== undefined || Object.keys(config).length > 0
      ? {
          ...(opts.reviewApps === undefined ? {} : { enabled: opts.reviewApps }),
          ...(ms === undefined ? {} : { staleAfterMs: ms }),
          ...(Object.keys(config).length === 0 ? {} : { config }),
        }
      : undefined;
  return {
    ...(opts.stage === undefined ? {} : { stages: opts.stage.map(parseStage) }),
    ...(review === undefined ? {} : { reviewApps: review }),
    ...(opts.requireTests === undefined ? {} : { requireTests: opts.requireTests }),
    ...(opts.requireConfig === undefined
      ? {}
      : {
          requiredConfig: opts.requireConfig
            .filter((n) => n !== "")
            .map((n) => parseWith(ConfigNameSchema, n, "--require-config")),
        }),
  };
}

/** `gantry pipelines`, `pipelines:create/update/destroy/promote`, `reviews` (docs/delivery/pipelines.md). */
export function registerPipelineCommands(program: Command, o: Output): void {
  program
    .command("pipelines [name]")
    .description(
      "pipelines; with NAME, each stage's release and whether it is behind the one before",
    )
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
A stage is "behind" when it does not run the artifact (or image) of the stage before it:
promote to bring it in sync. Examples:
  $ gantry pipelines
  $ gantry pipelines hello
  $ gantry pipelines hello --json | jq '.status[] | select(.behind) | .app'`,
    )
    .action(async (name: string | undefined, opts: { json?: boolean }) => {
      if (name === undefined) {
        const list = await pipelines().list();
        return opts.json === true ? json(o, list) : showPipelines(o, list);
      }
      const p = await pipelines().get(parseWith(PipelineNameSchema, name, "name"));
      return opts.json === true ? json(o, p) : showPipeline(o, p);
    });

  program
    .command("pipelines:create <name>")
    .description("make a pipeline of apps in stages (staging → production)")
    .requiredOption(
      "--stage <name=app>",
      "a stage and its app, in order (repeat: 2 or more)",
      collect,
    )
    .option("--review-apps", "build branches other than main into review apps")
    .option("--stale-after <duration>", "destroy review apps untouched this long (default 5d)")
    .option(
      "--review-config <name=value>",
      "config review apps get on top of the first stage's (repeatable)",
      collect,
    )
    .option("--require-tests", "promote only releases whose build passed its tests")
    .option(
      "--require-config <name>",
      "a config name the target stage must have to be promoted to (repeatable)",
      collect,
    )
    .addHelpText(
      "after",
      `
Needs app write on every stage app; an app is in one pipeline at most. Review config values
are stored encrypted and never shown. Examples:
  $ gantry pipelines:create hello --stage staging=hello-staging --stage production=hello
  $ gantry pipelines:create hello --stage staging=hello-staging --stage production=hello \\
      --review-apps --review-config DEBUG=1 --require-tests --require-config DATABASE_URL`,
    )
    .action(async (name: string, opts: ChangeOpts & { stage: string[] }) => {
      const u = updateOf(opts);
      const review = u.reviewApps ?? {};
      const p = await pipelines().create({
        name: parseWith(PipelineNameSchema, name, "name"),
        stages: u.stages ?? [],
        ...(opts.reviewApps === true || Object.keys(review).length > 0
          ? {
              reviewApps: {
                enabled: opts.reviewApps === true,
                ...(review.staleAfterMs === undefined ? {} : { staleAfterMs: review.staleAfterMs }),
                config: parseConfigPairs(opts.reviewConfig ?? []),
              },
            }
          : {}),
        requireTests: opts.requireTests === true,
        requiredConfig: u.requiredConfig ?? [],
      });
      o.out(`created pipeline ${p.name}: ${p.stages.map((s) => `${s.name}=${s.app}`).join(" → ")}`);
      o.out(`promote with: gantry pipelines:promote ${p.stages[0]!.app}`);
    });

  program
    .command("pipelines:update <name>")
    .description("change a pipeline: stages, review apps, promotion requirements")
    .option("--stage <name=app>", "the stages, in order (replaces them all; repeat)", collect)
    .option("--review-apps", "turn review apps on")
    .option("--no-review-apps", "turn review apps off (existing ones are destroyed by the sweep)")
    .option("--stale-after <duration>", "destroy review apps untouched this long")
    .option("--review-config <name=value>", "set a review config override (repeatable)", collect)
    .option("--unset-review-config <name>", "remove a review config override (repeatable)", collect)
    .option("--require-tests", "promote only releases that passed their tests")
    .option("--no-require-tests", "promote releases whatever their tests said")
    .option(
      "--require-config <name>",
      'the config names a target must have (replaces the list; repeat; "" for none)',
      collect,
    )
    .addHelpText(
      "after",
      `
Examples:
  $ gantry pipelines:update hello --review-apps --stale-after 2d
  $ gantry pipelines:update hello --review-config FEATURE_FLAGS=all --unset-review-config DEBUG
  $ gantry pipelines:update hello --require-config ""`,
    )
    .action(async (name: string, opts: ChangeOpts) => {
      const change = updateOf(opts);
      if (Object.keys(change).length === 0)
        throw new ValidationError("give something to change (see --help)", "options");
      const p = await pipelines().update(parseWith(PipelineNameSchema, name, "name"), change);
      o.out(`updated pipeline ${p.name}`);
    });

  program
    .command("pipelines:destroy <name>")
    .description("delete a pipeline and destroy its review apps (its stage apps stay)")
    .requiredOption("--confirm <name>", "the pipeline's name again")
    .addHelpText("after", `\nExamples:\n  $ gantry pipelines:destroy hello --confirm hello`)
    .action(async (name: string, opts: { confirm: string }) => {
      if (opts.confirm !== name)
        throw new ValidationError(
          `--confirm must repeat the pipeline's name: gantry pipelines:destroy ${name} --confirm ${name}`,
          "--confirm",
        );
      const r = await pipelines().delete(parseWith(PipelineNameSchema, name, "name"), opts.confirm);
      o.out(
        `deleted pipeline ${name}${r.reviewAppsDestroyed.length > 0 ? `; destroyed review apps ${r.reviewAppsDestroyed.join(", ")}` : ""}`,
      );
    });

  program
    .command("pipelines:promote <app>")
    .description("release what APP serves on the next stage: same artifact, that stage's config")
    .option("--to <stage>", "a later stage than the next one")
    .addHelpText(
      "after",
      `
Nothing is rebuilt: the new release runs the same artifact (or image) with the target's config,
and says where it came from. Refused when the target lacks a config name the pipeline requires,
or (with --require-tests) when the release did not pass its tests. Follows the deploy; exits 1
when it fails. Examples:
  $ gantry pipelines:promote hello-staging
  $ gantry pipelines:promote hello-staging --to production`,
    )
    .action(async (app: string, opts: { to?: string }) => {
      const a = await pipelines().promote(parseWith(AppNameSchema, app, "app"), opts.to);
      await followRelease(
        o,
        appsClient(),
        a.app,
        { changed: true, version: a.version },
        `Promoting ${a.from.app} v${a.from.version} (${a.from.stage}) to ${a.app} (${a.stage})`,
      );
    });

  program
    .command("reviews <app>")
    .description("the review apps of a pipeline app: branch, commit, URL, when they go")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `\nExamples:\n  $ gantry reviews hello-staging\n  $ gantry reviews hello-staging --json`,
    )
    .action(async (app: string, opts: { json?: boolean }) => {
      const r = await pipelines().reviews(parseWith(AppNameSchema, app, "app"));
      if (opts.json === true) return json(o, r.reviews);
      showReviews(o, app, r.enabled, r.reviews);
    });
}
