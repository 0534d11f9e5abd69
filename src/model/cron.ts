/**
 * Scheduled jobs (issue 15, docs/delivery/cron.md). A job is a cron expression and a command the
 * leader runs as a one-off (process type `cron`) of the app's current release; each tick it acts
 * on leaves one run record, written only if absent, so a tick never runs twice.
 *
 *   cron/jobs/<app>/<id>            CronJob
 *   cron/runs/<app>/<id>/<tick>     CronRun (tick: ISO time, so keys sort by time; last 50 kept)
 */
import * as z from "zod";
import { AppNameSchema } from "./app.js";

/** Job ids: like process types (they name the job in `gantry cron` and in stack files). */
export const CronJobIdSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,39}$/,
    "must be lower-case letters, digits and -, starting with a letter, at most 40 characters",
  );

/** A job's time limit unless it says otherwise: one hour. */
export const CRON_DEFAULT_TIMEOUT_MS = 3_600_000;
/** The longest time limit a job may ask for: one day. */
export const CRON_MAX_TIMEOUT_MS = 86_400_000;
/** Run records kept per job (older ones go when a new one is written). */
export const CRON_RUNS_KEPT = 50;

export const CronJobSchema = z.strictObject({
  id: CronJobIdSchema,
  app: AppNameSchema,
  /** 5 fields (minute…weekday) or 6 with seconds first. */
  schedule: z.string().min(1).max(200),
  /** IANA time zone the schedule is read in (default UTC). */
  tz: z.string().min(1).max(64),
  /** argv, run through `sh -c` like `gantry run`. */
  command: z.array(z.string().max(4096)).min(1).max(256),
  /** Start a tick's run even while the previous one still runs. */
  overlap: z.boolean(),
  timeoutMs: z.number().int().min(1000).max(CRON_MAX_TIMEOUT_MS),
  createdAt: z.string(),
  createdBy: z.string(),
  /** Declared by the stack (gantry.yaml `cron:`). */
  source: z.literal("stack").optional(),
});
export type CronJob = z.infer<typeof CronJobSchema>;

export const CronRunStatusSchema = z.enum([
  "started",
  "skipped",
  "succeeded",
  "failed",
  "timeout",
  "missed",
]);
export type CronRunStatus = z.infer<typeof CronRunStatusSchema>;

export const CronRunSchema = z.strictObject({
  job: CronJobIdSchema,
  app: AppNameSchema,
  /** The tick (ISO time) this run is for. */
  tick: z.string(),
  status: CronRunStatusSchema,
  /** The one-off's instance id and name (`cron.3`), and its node. */
  instance: z.string().optional(),
  name: z.string().optional(),
  node: z.string().optional(),
  release: z.number().int().min(0).optional(),
  /** When the leader wrote the assignment (lateness = assignedAt − tick). */
  assignedAt: z.string().optional(),
  /** When the agent started the process (its instance's startedAt). */
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  exitCode: z.number().int().nullable().optional(),
  /** Why it was skipped, missed, failed to start or timed out. */
  reason: z.string().optional(),
});
export type CronRun = z.infer<typeof CronRunSchema>;

/** `POST /v1/apps/:app/cron`. */
export const CronAddSchema = z.strictObject({
  id: CronJobIdSchema.optional(),
  schedule: z.string().min(1).max(200),
  tz: z.string().min(1).max(64).optional(),
  command: z.array(z.string().max(4096)).min(1).max(256),
  overlap: z.boolean().optional(),
  timeoutMs: z.number().int().min(1000).max(CRON_MAX_TIMEOUT_MS).optional(),
  /** Replace a job of that id that differs (the stack); otherwise such a job is a conflict. */
  replace: z.boolean().optional(),
  source: z.literal("stack").optional(),
});
export type CronAdd = z.infer<typeof CronAddSchema>;

/** A job as `GET /v1/apps/:app/cron` shows it: with its next tick and last runs. */
export interface CronJobView extends CronJob {
  next?: string;
  runs: CronRun[];
}
