/**
 * The cron clock (docs/delivery/cron.md): leader only. It sleeps until the next tick of any job
 * (or the next time limit), woken early by a change of the jobs or of a cron one-off's instance;
 * each round it reads the jobs and their runs, plans (src/cron/plan.ts) and acts: a due tick in
 * one transaction that writes the run record only if absent with the one-off's assignment
 * (cron-start.ts), a run's end, time limit or start time onto its record.
 */
import { assignmentKey } from "../apps/keys.js";
import { K } from "../model/keys.js";
import type { Store, WatchEvent } from "../store/index.js";
import { planCron, ScheduleCache, type CronPlan, type DueTick } from "../cron/plan.js";
import { readCron } from "./cron-read.js";
import { actOnTick } from "./cron-start.js";
import { watchRound } from "./watch-round.js";
import { sleep } from "../sleep.js";

export interface CronControllerOptions {
  store: Store;
  log?: (line: string) => void;
  now?: () => number;
  /** Look again at least this often without events (ms; default 60 s). */
  resyncMs?: number;
}

export interface CronController {
  stop(): Promise<void>;
}

/** Cron one-offs' instance ids hold `-cron-` (`<app>-v<release>-cron-<index>-<suffix>`). */
const isCronInstance = (key: string): boolean => key.includes("-cron-");

export function startCronController(opts: CronControllerOptions): CronController {
  const c = new Clock(opts);
  c.start();
  return c;
}

class Clock implements CronController {
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly schedules = new ScheduleCache();
  private stopped = false;
  private readonly abort = new AbortController();
  private kick: (() => void) | undefined;
  private kicked = false;
  private readonly cancels: (() => void)[] = [];
  private done: Promise<unknown> = Promise.resolve();
  private warned = new Set<string>();

  constructor(private readonly opts: CronControllerOptions) {
    this.log = opts.log ?? ((l) => process.stderr.write(l + "\n"));
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.done = Promise.all([this.loop(), this.watch()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    for (const c of this.cancels) c();
    this.wake();
    await this.done;
  }

  private wake(): void {
    this.kicked = true;
    this.kick?.();
  }

  private async watch(): Promise<void> {
    while (!this.stopped) {
      await watchRound({
        store: this.opts.store,
        prefixes: [K.cronJobs, K.instances],
        cancels: this.cancels,
        signal: this.abort.signal,
        opened: () => this.wake(),
        onBatch: (batch: WatchEvent[]) => {
          if (batch.some((e) => e.kv.key.startsWith(K.cronJobs) || isCronInstance(e.kv.key)))
            this.wake();
        },
      });
      if (!this.stopped) await sleep(1000, this.abort.signal);
    }
  }

  private async loop(): Promise<void> {
    const resync = this.opts.resyncMs ?? 60_000;
    while (!this.stopped) {
      this.kicked = false;
      let plan: CronPlan | undefined;
      let wrote = 0;
      try {
        plan = planCron(await readCron(this.opts.store, this.now), this.schedules);
        for (const b of plan.broken)
          if (!this.warned.has(b)) {
            this.warned.add(b);
            this.log(`cron: job ${b} has a schedule that no longer parses; it does not run`);
          }
        wrote = await this.apply(plan);
      } catch (err) {
        if (this.stopped) return;
        this.log(`cron: ${(err as Error).message}; looking again in 1 s`);
        await sleep(1000, this.abort.signal);
        continue;
      }
      // Wrote: look again at once (the records changed); otherwise until the next deadline —
      // not at once even when it has passed (a write another server made first, a record this
      // one cannot read): a clock must not spin.
      if (wrote > 0) continue;
      const tried = plan.due.length > 0 || plan.updates.length > 0;
      const wait = Math.min(resync, Math.max(tried ? 50 : 0, plan.wake - this.now()));
      await this.sleepFor(wait);
    }
  }

  /** Act on the plan; how many of its writes were made. */
  private async apply(plan: CronPlan): Promise<number> {
    const { store } = this.opts;
    const byApp = new Map<string, DueTick[]>();
    for (const d of plan.due) byApp.set(d.job.app, [...(byApp.get(d.job.app) ?? []), d]);
    let wrote = 0;
    await Promise.all([
      ...[...byApp.values()].map(async (ticks) => {
        for (const d of ticks) {
          const out = await actOnTick(store, d, this.now);
          if (out.outcome !== "taken") wrote++;
          if (out.outcome === "failed")
            this.log(`cron: ${d.job.app}/${d.job.id} tick ${d.tick} failed: ${out.reason}`);
        }
      }),
      ...plan.updates.map(async (u) => {
        const res = await store.txn({
          compare: [{ key: u.key, target: "modRevision", op: "==", value: u.modRevision }],
          success: [
            { type: "put", key: u.key, value: JSON.stringify(u.run) },
            ...(u.stop === undefined
              ? []
              : [{ type: "delete" as const, range: assignmentKey(u.stop.node, u.stop.id) }]),
          ],
        });
        if (res.succeeded) wrote++;
      }),
    ]);
    return wrote;
  }

  /** Sleep `ms`, or less when woken (a change to look at) or stopped. */
  private sleepFor(ms: number): Promise<void> {
    if (this.stopped || this.kicked) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.kick = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.kick = done;
    });
  }
}
