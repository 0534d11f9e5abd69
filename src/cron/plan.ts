/**
 * The cron clock's decisions, pure (src/controllers/cron.ts reads and writes): for each job,
 * whether a tick is due and what to do with it (start, or skip while the last run still runs),
 * which running runs ended or ran out of time, and when to look again.
 *
 * A due tick is the latest tick after the job's last recorded one (or its creation) and at or
 * before now: ticks missed while no server led run once — the latest — and the others are
 * counted on one `missed` record.
 */
import type { InstanceStatus } from "../model/app.js";
import { CRON_RUNS_KEPT, type CronJob, type CronRun } from "../model/cron.js";
import { formatDuration } from "../model/duration.js";
import { cronRunKey } from "./keys.js";
import { parseSchedule, ticksBetween, type Schedule } from "./schedule.js";

export interface CronSnapshot {
  now: number;
  jobs: readonly CronJob[];
  /** Each job's run records, oldest first, by `<app>/<id>`, with the revision they were read at. */
  runs: ReadonlyMap<string, readonly { value: CronRun; modRevision: number }[]>;
  /** The assignments of cron one-offs still there: instance id → node. */
  assignments: ReadonlyMap<string, string>;
  /** Agents' reports of those instances, by id. */
  instances: ReadonlyMap<string, InstanceStatus>;
}

/** A tick to act on: start a run, or record it skipped. */
export interface DueTick {
  job: CronJob;
  tick: string;
  /** Earlier ticks since the last recorded one, not run (one `missed` record counts them). */
  missed?: { count: number; first: string };
  /** Set: record it skipped, for this reason. */
  skip?: string;
  /** Keys of old run records to delete with the new one(s), so CRON_RUNS_KEPT stay. */
  prune: string[];
}

/** A run record to rewrite (guarded by its revision), and the assignment to delete with it. */
export interface RunUpdate {
  key: string;
  modRevision: number;
  run: CronRun;
  stop?: { node: string; id: string };
}

export interface CronPlan {
  due: DueTick[];
  updates: RunUpdate[];
  /** When to look again (ms since the epoch): the next tick or time limit. */
  wake: number;
  /** Jobs whose schedule no longer parses (a stored record from an older version). */
  broken: string[];
}

export const jobRef = (j: { app: string; id: string }): string => `${j.app}/${j.id}`;

const ENDED = new Set(["exited", "crashed", "stopped"]);

export function planCron(s: CronSnapshot, schedules = new ScheduleCache()): CronPlan {
  const plan: CronPlan = { due: [], updates: [], wake: Infinity, broken: [] };
  const now = new Date(s.now);
  for (const job of s.jobs) {
    const runs = s.runs.get(jobRef(job)) ?? [];
    const active: { value: CronRun; modRevision: number }[] = [];
    for (const r of runs) {
      if (r.value.status !== "started") continue;
      const u = followRun(job, r, s);
      if (u !== undefined) plan.updates.push(u);
      if (u === undefined || u.run.status === "started") {
        active.push(r);
        const limit = Date.parse(r.value.assignedAt ?? r.value.tick) + job.timeoutMs;
        plan.wake = Math.min(plan.wake, limit);
      }
    }
    const sched = schedules.get(job);
    if (sched === undefined) {
      plan.broken.push(jobRef(job));
      continue;
    }
    const last = runs.at(-1)?.value.tick;
    const since = new Date(Math.max(Date.parse(job.createdAt), last ? Date.parse(last) : 0));
    const t = ticksBetween(sched, since, now);
    if (t.latest !== undefined) {
      const tick = t.latest.toISOString();
      const running = active.find((r) => r.value.tick !== tick);
      const extra = t.count > 1 ? 2 : 1;
      const prune = runs
        .slice(0, Math.max(0, runs.length + extra - CRON_RUNS_KEPT))
        .filter((r) => r.value.status !== "started")
        .map((r) => cronRunKey(job.app, job.id, r.value.tick));
      plan.due.push({
        job,
        tick,
        prune,
        ...(t.count > 1 ? { missed: { count: t.count - 1, first: t.first!.toISOString() } } : {}),
        ...(running !== undefined && !job.overlap
          ? {
              skip: `the run of ${running.value.tick}${running.value.name ? ` (${running.value.name})` : ""} still runs; pass --overlap to start runs anyway`,
            }
          : {}),
      });
    }
    const next = sched.next(new Date(Math.max(s.now, t.latest?.getTime() ?? 0)));
    if (next !== undefined) plan.wake = Math.min(plan.wake, next.getTime());
  }
  return plan;
}

/** What became of a started run: ended, out of time, gone, or just started (its startedAt). */
function followRun(
  job: CronJob,
  r: { value: CronRun; modRevision: number },
  s: CronSnapshot,
): RunUpdate | undefined {
  const run = r.value;
  const key = cronRunKey(job.app, job.id, run.tick);
  const id = run.instance ?? "";
  const inst = s.instances.get(id);
  const startedAt = run.startedAt ?? inst?.startedAt;
  const base: CronRun = { ...run, ...(startedAt === undefined ? {} : { startedAt }) };
  if (inst !== undefined && ENDED.has(inst.state)) {
    const code = inst.exitCode ?? null;
    return {
      key,
      modRevision: r.modRevision,
      run: {
        ...base,
        status: code === 0 ? "succeeded" : "failed",
        exitCode: code,
        finishedAt: inst.updatedAt,
        ...(code === 0
          ? {}
          : { reason: code === null ? `it ended ${inst.state}` : `exit code ${code}` }),
      },
    };
  }
  const node = s.assignments.get(id);
  const limit = Date.parse(run.assignedAt ?? run.tick) + job.timeoutMs;
  if (s.now >= limit)
    return {
      key,
      modRevision: r.modRevision,
      run: {
        ...base,
        status: "timeout",
        finishedAt: new Date(s.now).toISOString(),
        reason: `it ran longer than its time limit (${formatDuration(job.timeoutMs)}) and was stopped`,
      },
      ...(node === undefined ? {} : { stop: { node, id } }),
    };
  if (node === undefined && inst === undefined)
    return {
      key,
      modRevision: r.modRevision,
      run: {
        ...base,
        status: "failed",
        finishedAt: new Date(s.now).toISOString(),
        reason: "its instance went before it reported an end (its node was lost?)",
      },
    };
  if (startedAt !== undefined && run.startedAt === undefined)
    return { key, modRevision: r.modRevision, run: { ...base, status: "started" } };
  return undefined;
}

/** Parsed schedules by job, re-parsed when a job's schedule or zone changes. */
export class ScheduleCache {
  private readonly m = new Map<string, { expr: string; sched: Schedule | undefined }>();
  get(job: CronJob): Schedule | undefined {
    const expr = `${job.schedule}\u0000${job.tz}`;
    const hit = this.m.get(jobRef(job));
    if (hit?.expr === expr) return hit.sched;
    let sched: Schedule | undefined;
    try {
      sched = parseSchedule(job.schedule, job.tz);
    } catch {
      sched = undefined;
    }
    this.m.set(jobRef(job), { expr, sched });
    return sched;
  }
}
