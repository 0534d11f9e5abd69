/**
 * Scheduled jobs' records as the API changes and reads them: add (or replace), remove, list with
 * the next tick and the last runs. Every change is audited in its transaction.
 */
import type { AuditLog } from "../audit/log.js";
import { conflict, notFound } from "../errors.js";
import { kvsOf, parseAll, parseRecord } from "../apps/records.js";
import {
  CRON_DEFAULT_TIMEOUT_MS,
  CronJobSchema,
  CronRunSchema,
  type CronAdd,
  type CronJob,
  type CronJobView,
  type CronRun,
} from "../model/cron.js";
import type { Principal } from "../model/principal.js";
import { K } from "../model/keys.js";
import type { Store } from "../store/index.js";
import { cronJobKey, cronJobsPrefix, cronRunsPrefix } from "./keys.js";
import { parseSchedule } from "./schedule.js";

/** A job id from its command when none is given: `node task.js` → `node-task-js`. */
export function defaultJobId(command: readonly string[]): string {
  const slug = command
    .join(" ")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return slug === "" ? "job" : slug;
}

/** The same job (what it runs and when), whoever declared it and when. */
const sameJob = (a: CronJob, b: CronJob): boolean =>
  a.schedule === b.schedule &&
  a.tz === b.tz &&
  a.overlap === b.overlap &&
  a.timeoutMs === b.timeoutMs &&
  JSON.stringify(a.command) === JSON.stringify(b.command) &&
  a.source === b.source;

export async function addJob(
  store: Store,
  audit: AuditLog,
  who: Principal,
  app: string,
  req: CronAdd,
  now = new Date(),
): Promise<{ job: CronJob; changed: boolean }> {
  const tz = req.tz ?? "UTC";
  parseSchedule(req.schedule, tz); // a ValidationError naming the field, with croner's reason
  const id = req.id ?? defaultJobId(req.command);
  const key = cronJobKey(app, id);
  const kv = await store.get(key);
  const old = parseRecord(kv, CronJobSchema);
  const job: CronJob = {
    id,
    app,
    schedule: req.schedule.trim().replace(/\s+/g, " "),
    tz,
    command: req.command,
    overlap: req.overlap ?? false,
    timeoutMs: req.timeoutMs ?? CRON_DEFAULT_TIMEOUT_MS,
    createdAt: now.toISOString(),
    createdBy: who.name,
    ...(req.source === undefined ? {} : { source: req.source }),
  };
  if (old !== undefined && sameJob(old, job)) return { job: old, changed: false };
  if (old !== undefined && req.replace !== true)
    throw conflict(
      `app ${app} already has a job "${id}" (${old.schedule}: ${old.command.join(" ")}); remove it first or pass another --name`,
    );
  const res = await store.txn({
    compare: [{ key, target: "modRevision", op: "==", value: kv?.modRevision ?? 0 }],
    success: [
      { type: "put", key, value: JSON.stringify(job) },
      audit.entry(who, old === undefined ? "cron.add" : "cron.replace", `${app}/${id}`),
    ],
  });
  if (!res.succeeded) throw conflict(`job ${app}/${id} changed meanwhile; try again`);
  return { job, changed: true };
}

export async function removeJob(
  store: Store,
  audit: AuditLog,
  who: Principal,
  app: string,
  id: string,
): Promise<void> {
  const res = await store.txn({
    compare: [{ key: cronJobKey(app, id), target: "createRevision", op: ">", value: 0 }],
    success: [
      { type: "delete", range: cronJobKey(app, id) },
      { type: "delete", range: { prefix: cronRunsPrefix(app, id) } },
      audit.entry(who, "cron.remove", `${app}/${id}`),
    ],
  });
  if (!res.succeeded) throw notFound(`job "${id}" of app ${app}`);
}

/** An app's jobs, each with its next tick and last `runs` runs (newest first). */
export async function listJobs(
  store: Store,
  app: string,
  runs = 5,
  now = new Date(),
): Promise<CronJobView[]> {
  const res = await store.txn({
    success: [
      { type: "get", range: { prefix: cronJobsPrefix(app) } },
      { type: "get", range: { prefix: cronRunsPrefix(app) } },
    ],
  });
  const all = parseAll(kvsOf(res, 1), CronRunSchema).map((r) => r.value);
  return parseAll(kvsOf(res, 0), CronJobSchema).map(({ value: job }) => {
    let next: Date | undefined;
    try {
      next = parseSchedule(job.schedule, job.tz).next(now);
    } catch {
      next = undefined;
    }
    return {
      ...job,
      ...(next === undefined ? {} : { next: next.toISOString() }),
      runs: newestFirst(all.filter((r) => r.job === job.id)).slice(0, runs),
    };
  });
}

/** A job's run records, newest first (404 for an unknown job). */
export async function listRuns(store: Store, app: string, id: string): Promise<CronRun[]> {
  const res = await store.txn({
    success: [
      { type: "get", range: cronJobKey(app, id), keysOnly: true },
      { type: "get", range: { prefix: cronRunsPrefix(app, id) } },
    ],
  });
  if (kvsOf(res, 0).length === 0) throw notFound(`job "${id}" of app ${app}`);
  return newestFirst(parseAll(kvsOf(res, 1), CronRunSchema).map((r) => r.value));
}

const newestFirst = (runs: CronRun[]): CronRun[] =>
  [...runs].sort((a, b) => b.tick.localeCompare(a.tick));

/** Every job of every app, with its record's revision. */
export async function allJobs(store: Store): Promise<(CronJob & { modRevision: number })[]> {
  const res = await store.range({ prefix: K.cronJobs });
  return parseAll(res.kvs, CronJobSchema).map((j) => ({ ...j.value, modRevision: j.modRevision }));
}
