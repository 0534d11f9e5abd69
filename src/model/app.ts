import * as z from "zod";

/**
 * The PaaS records (issue 4). Desired state is written by the API and the deploy controller;
 * actual state by the agents. See docs/apps.md for the flows that connect them.
 *
 *   apps/<app>                          App
 *   config/<app>                        AppConfig (values encrypted, AES-256-GCM)
 *   builds/<app>/<build id>             Build
 *   releases/<app>/<version, 8 digits>  Release
 *   deploys/<app>                       Deploy (the one in progress or the last one)
 *   assignments/<node>/<instance id>    Assignment (desired: what a node must run)
 *   instances/<instance id>             InstanceStatus (actual: what the agent reports)
 */

// The value types live in app-values.ts; importers keep reading them from here.
export * from "./app-values.js";
import {
  AppNameSchema,
  ProcessTypeSchema,
  ConfigNameSchema,
  DomainSchema,
  ImageRefSchema,
  ArtifactHashSchema,
  RuntimeSchema,
  ContainerOptionsSchema,
  HstsSecondsSchema,
} from "./app-values.js";
import { ConstraintsSchema, CpuSchema, LabelNameSchema } from "./placement.js";

/**
 * Process types that run once and are never part of the formation (issue 15): `gantry run`'s
 * `run`, a build's `test`, a release's `release` phase and `cron` jobs.
 */
export const ONEOFF_TYPES: ReadonlySet<string> = new Set(["run", "test", "release", "cron"]);

/** How long a release phase may run when the app does not say (`App.releaseTimeoutMs`). */
export const RELEASE_TIMEOUT_MS = 600_000;

export const FormationSchema = z.record(ProcessTypeSchema, z.number().int().min(0).max(100));
export type Formation = z.infer<typeof FormationSchema>;

export const AppSchema = z.strictObject({
  name: AppNameSchema,
  createdAt: z.string(),
  createdBy: z.string(),
  /** Custom domains routed to this app besides `<app>.<router domain>`. */
  domains: z.array(DomainSchema).max(100),
  /** How many instances of each process type (default web=1 once a release has `web`). */
  formation: FormationSchema,
  /** Health check path for web instances (HTTP GET; passes below 500). */
  healthPath: z
    .string()
    .regex(/^\/[^\s]*$/)
    .max(1024),
  /** A deploy fails when new instances do not pass within this (ms; default 30 s). */
  deployTimeoutMs: z.number().int().min(1000).max(3_600_000),
  /** Old instances keep serving in-flight requests this long after traffic moved (ms). */
  drainMs: z.number().int().min(0).max(600_000),
  /** Version of the release that serves now (0: none yet). */
  currentRelease: z.number().int().min(0),
  /** How its instances run (absent: `process`); a change takes effect with the next release. */
  runtime: RuntimeSchema.optional(),
  /** Container limits and options (runtime docker). */
  container: ContainerOptionsSchema.optional(),
  /** CPUs reserved per instance when placing (docs/scheduler.md; absent: none). */
  cpu: CpuSchema.optional(),
  /** Node label constraints `label=value`: instances go only to nodes that have them all. */
  constraints: ConstraintsSchema.optional(),
  /** A node label (location, zone) whose values the instances spread across. */
  spread: LabelNameSchema.optional(),
  /** Config names passed to a Dockerfile build as build args; no other config reaches a build. */
  buildArgs: z.array(ConfigNameSchema).max(50).optional(),
  /** The router answers plain HTTP with a 308 to HTTPS, for names it has a certificate for. */
  httpsRedirect: z.boolean().optional(),
  /** The router's HTTPS answers carry HSTS with this max-age (seconds; absent: none). */
  hsts: HstsSecondsSchema.optional(),
  /**
   * Set by `releases:rollback`, cleared by `releases:unpin` and by the next build's release: a
   * stack (docs/stack.md) leaves a pinned app's release alone.
   */
  /**
   * The test command every build runs before it is released (issue 15; the stack's
   * `apps.<name>.test`, or `apps:set test=…`); a Procfile `test:` line is used when this is absent.
   */
  test: z.string().min(1).max(4000).optional(),
  /** How long a test run may take before it is killed and the push rejected (ms; default 10 min). */
  testTimeoutMs: z
    .number()
    .int()
    .min(1000)
    .max(6 * 3_600_000)
    .optional(),
  /**
   * How long a release phase (a Procfile `release:` command) may run before it is stopped and
   * its release failed (ms; default 10 min; `apps:set release-timeout=…`).
   */
  releaseTimeoutMs: z
    .number()
    .int()
    .min(1000)
    .max(6 * 3_600_000)
    .optional(),
  /** A review app (issue 15): made for `branch` of the pipeline's app `parent`; destroyed with it. */
  review: z
    .strictObject({
      pipeline: z.string(),
      parent: z.string(),
      branch: z.string().max(255),
      /** The commit it last built, and when (review apps untouched for `staleAfter` go). */
      commit: z.string().optional(),
      updatedAt: z.string(),
    })
    .optional(),
  pinned: z
    .strictObject({
      /** The release rolled back to (its code and config serve). */
      release: z.number().int().min(1),
      by: z.string(),
      at: z.string(),
    })
    .optional(),
});
export type App = z.infer<typeof AppSchema>;

/** A content hash of a stack folder (git tree id or sha256): what a stack build was made from. */
export const SourceHashSchema = z
  .string()
  .regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, "must be a git tree id or a sha256 (hex)");

/** Encrypted config: name -> base64(iv | ciphertext | tag). Never logged, never shown encrypted. */
export const AppConfigSchema = z.strictObject({
  version: z.number().int().min(0),
  values: z.record(ConfigNameSchema, z.string()),
});
export type AppConfig = z.infer<typeof AppConfigSchema>;

export const BuildStatusSchema = z.enum(["building", "succeeded", "failed"]);

/**
 * The `git push` a build's code came from: the commit, the branch it was pushed to and the id of
 * the repository that received it (DATA_DIR/repos/<app>.git/gantry-id, so only the server holding
 * that repository judges it). A release carrying it is tied to the push until git has moved the
 * ref to the commit; one whose push did not complete is abandoned (docs/apps.md, "An interrupted
 * push").
 */
export const PushOriginSchema = z.strictObject({
  commit: z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/),
  ref: z.enum(["refs/heads/main", "refs/heads/master"]),
  repo: z.string().regex(/^[0-9a-f]{16}$/),
});
export type PushOrigin = z.infer<typeof PushOriginSchema>;

export const BuildSchema = z.strictObject({
  id: z.string(),
  app: AppNameSchema,
  status: BuildStatusSchema,
  /** The git commit that was pushed (or "upload" for a tarball build). */
  commit: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  /** sha256 of the artifact (a .tar.gz of the built app directory). */
  artifact: ArtifactHashSchema.optional(),
  processTypes: z.record(ProcessTypeSchema, z.string()).optional(),
  /** What it built: a slug (artifact), an image from a Dockerfile, or an image deployed as is. */
  kind: z.enum(["slug", "dockerfile", "image"]).optional(),
  /** The image it made or deployed, pinned by digest (kind dockerfile or image). */
  image: ImageRefSchema.optional(),
  /** The stack folder's content hash, for a build a stack made from its `source:` folder. */
  source: SourceHashSchema.optional(),
  /** The stack the builder detected: "node", "procfile". */
  stack: z.string().optional(),
  error: z.string().optional(),
  createdBy: z.string(),
  /** The push it builds (absent for an upload). */
  push: PushOriginSchema.optional(),
  /** Its test run (issue 15), when the app has a test command: a build is released only if it passed. */
  test: z
    .strictObject({
      status: z.enum(["running", "passed", "failed", "timeout"]),
      command: z.string(),
      startedAt: z.string(),
      finishedAt: z.string().optional(),
      durationMs: z.number().int().min(0).optional(),
      exitCode: z.number().int().nullable().optional(),
      /** The one-off instance that ran it (`test.<n>` in the app's log). */
      instance: z.string().optional(),
      error: z.string().optional(),
    })
    .optional(),
});
export type Build = z.infer<typeof BuildSchema>;
export type BuildTest = NonNullable<Build["test"]>;

export const ReleaseStatusSchema = z.enum([
  "pending",
  "deploying",
  "active",
  "failed",
  "superseded",
  /** Made from a push that did not complete: never to run (again). */
  "abandoned",
]);
export type ReleaseStatus = z.infer<typeof ReleaseStatusSchema>;

export const ReleaseSchema = z.strictObject({
  app: AppNameSchema,
  version: z.number().int().min(1),
  /** What it runs: build id and artifact (absent for a config-only release before any build). */
  build: z.string().optional(),
  artifact: ArtifactHashSchema.optional(),
  /** The image it runs, pinned by digest (instead of an artifact; runtime docker). */
  image: ImageRefSchema.optional(),
  /** How its instances run (absent: `process`); copied from the app when it is made. */
  runtime: RuntimeSchema.optional(),
  processTypes: z.record(ProcessTypeSchema, z.string()),
  /** The config version it was made with; the encrypted values are copied in, so a release is immutable. */
  configVersion: z.number().int().min(0),
  config: z.record(ConfigNameSchema, z.string()),
  description: z.string().max(500),
  createdAt: z.string(),
  createdBy: z.string(),
  status: ReleaseStatusSchema,
  /** Why a deploy of it failed, or why it was abandoned. */
  error: z.string().optional(),
  /**
   * The push its code came from, while that ties it: a release made from a push, a config
   * change on top of one, or a restore of one. Rollbacks are explicit and carry none.
   */
  push: PushOriginSchema.optional(),
  /** Where a promoted release came from (issue 15): the same artifact or image, no rebuild. */
  promotedFrom: z
    .strictObject({
      app: AppNameSchema,
      version: z.number().int().min(1),
      pipeline: z.string(),
    })
    .optional(),
  /**
   * Its release phase (a Procfile `release:` command, e.g. migrations): run once, with this
   * release's config, before any instance of it starts; a failure fails the release.
   */
  releasePhase: z
    .strictObject({
      status: z.enum(["running", "succeeded", "failed"]),
      command: z.string(),
      startedAt: z.string(),
      finishedAt: z.string().optional(),
      exitCode: z.number().int().nullable().optional(),
      instance: z.string().optional(),
      error: z.string().optional(),
    })
    .optional(),
});
export type Release = z.infer<typeof ReleaseSchema>;

/** An instance a node must run. Written by the deploy controller, read by the node's agent. */
export const AssignmentSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,127}$/),
  app: AppNameSchema,
  release: z.number().int().min(0), // 0: a test run before the app has any release
  processType: ProcessTypeSchema,
  /** 1-based number within the process type, for names like web.1. */
  index: z.number().int().min(1),
  node: z.string(),
  /** The slug it runs; absent when it runs an image. */
  artifact: ArtifactHashSchema.optional(),
  /** The image it runs (runtime docker), pinned by digest. */
  image: ImageRefSchema.optional(),
  /** How it runs (absent: `process`). A slug can run in a container too, on Gantry's base image. */
  runtime: RuntimeSchema.optional(),
  container: ContainerOptionsSchema.optional(),
  /** CPUs it reserves on its node (placement; memory: container.memoryMb). */
  cpu: CpuSchema.optional(),
  /** The Procfile command; empty for an image's own CMD. */
  command: z.string(),
  /**
   * "run" for the formation, "oneoff" for what runs once and is never restarted: `gantry run`
   * (process type `run`), a build's tests (`test`), a release phase (`release`), a cron job
   * (`cron`). Its log source is `<processType>.<index>`.
   */
  kind: z.enum(["run", "oneoff"]),
  /** Which config its environment gets: its release's (absent) or the app's test config. */
  config: z.enum(["release", "test"]).optional(),
  /** The build a test run tests (its release is then the app's current one, or 0 before any). */
  build: z.string().optional(),
  /** Draining instances are out of the router and are stopped after the drain period. */
  desired: z.enum(["running", "draining", "stopped"]),
  healthPath: z.string(),
  createdAt: z.string(),
  /** When it was set to draining: the controller deletes it `drainMs` later. */
  drainingSince: z.string().optional(),
});
export type Assignment = z.infer<typeof AssignmentSchema>;

export const InstanceStateSchema = z.enum(["starting", "running", "crashed", "exited", "stopped"]);

/** What an agent reports about an instance it runs. */
export const InstanceStatusSchema = z.strictObject({
  id: z.string(),
  app: AppNameSchema,
  release: z.number().int().min(0), // 0: a test run before the app has any release
  processType: ProcessTypeSchema,
  index: z.number().int().min(1),
  node: z.string(),
  state: InstanceStateSchema,
  pid: z.number().int().optional(),
  port: z.number().int().optional(),
  address: z.string().optional(),
  restarts: z.number().int().min(0),
  exitCode: z.number().int().nullable().optional(),
  /** Last lines of output, shown by `ps` for a crashed instance. */
  lastOutput: z.array(z.string()).max(20),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  /** A crashed instance: when the agent starts it again (absent: it will not). */
  restartAt: z.string().optional(),
  /**
   * Its port was taken by another program, so the agent moved it to a new one and started it
   * again at once (not a crash; issue 19). Shown until it runs.
   */
  portMoved: z
    .strictObject({
      from: z.number().int().min(1).max(65535),
      to: z.number().int().min(1).max(65535),
      at: z.string(),
    })
    .optional(),
});
export type InstanceStatus = z.infer<typeof InstanceStatusSchema>;

/**
 * What a deploy or a scaling last told about what it waits for (issue 19): its log gets a line
 * when the reasons change, and reminders while they stay (src/controllers/plan-wait.ts).
 */
export const WaitingSchema = z.strictObject({
  /** The reasons without their times, e.g. `web.2=check:503 worker.1=starting`. */
  key: z.string().max(4000),
  /** When these reasons were first told, and last. */
  firstAt: z.string(),
  lastAt: z.string(),
});
export type Waiting = z.infer<typeof WaitingSchema>;

/** The fields a deploy and a scaling share: how it goes, and its progress lines. */
const PROGRESS = {
  status: z.enum(["running", "succeeded", "failed"]),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  error: z.string().optional(),
  /** Human-readable progress lines, streamed to the pusher / CLI. */
  log: z.array(z.string()).max(200),
  /** When the last line was written: a wait is told after a quiet spell. */
  loggedAt: z.string().optional(),
  waiting: WaitingSchema.optional(),
};

export const DeploySchema = z.strictObject({
  app: AppNameSchema,
  release: z.number().int().min(1),
  previous: z.number().int().min(0),
  ...PROGRESS,
});
export type Deploy = z.infer<typeof DeploySchema>;

/**
 * A change of the formation (`ps:scale`) while the controller carries it out, then its outcome:
 * `scales/<app>`. Written by the API with the formation; a later scaling replaces it.
 */
export const ScaleSchema = z.strictObject({
  app: AppNameSchema,
  /** `ps:scale` follows the scaling with this id. */
  id: z.string().regex(/^[0-9a-f]{8,32}$/),
  /** What was asked: the process types changed and their new counts. */
  changes: FormationSchema,
  ...PROGRESS,
});
export type Scale = z.infer<typeof ScaleSchema>;

/** Release versions sort as keys: zero-padded to 8 digits. */
export const releaseKey = (app: string, version: number): string =>
  `releases/${app}/${String(version).padStart(8, "0")}`;

/** The catalog service name of an app's web instances (the router routes Host to it). */
export const webServiceName = (app: string): string => app;
