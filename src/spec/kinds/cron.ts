import * as z from "zod";
import { CronClient } from "../../client/cron.js";
import { isGantryError } from "../../errors.js";
import { parseSchedule } from "../../cron/schedule.js";
import { AppNameSchema } from "../../model/app.js";
import {
  CRON_DEFAULT_TIMEOUT_MS,
  CRON_MAX_TIMEOUT_MS,
  CronJobIdSchema,
  type CronAdd,
  type CronJob,
} from "../../model/cron.js";
import { formatDuration, parseDuration } from "../../model/duration.js";
import type { FieldChange, Kind, KindContext, SpecProblem } from "../kind.js";

/** `cron.<id>` in gantry.yaml. A string command runs through `sh -c`; a list is argv. */
const CronSpecSchema = z.strictObject({
  app: AppNameSchema,
  schedule: z.string().min(1).max(200),
  command: z.union([z.string().min(1).max(4096), z.array(z.string().max(4096)).min(1).max(256)]),
  tz: z.string().min(1).max(64).default("UTC"),
  overlap: z.boolean().default(false),
  timeout: z
    .string()
    .refine((t) => {
      const ms = parseDuration(t);
      return ms !== undefined && ms >= 1000 && ms <= CRON_MAX_TIMEOUT_MS;
    }, "must be a duration from 1s to 24h, such as 90s, 10m or 1h")
    .optional(),
});
export type CronSpec = z.infer<typeof CronSpecSchema>;

type LiveJob = CronJob & { modRevision: number };

const argv = (c: string | string[]): string[] => (typeof c === "string" ? ["sh", "-c", c] : c);

/** What the stack asks of a job, as the API takes it. */
function request(id: string, s: CronSpec): CronAdd {
  return {
    id,
    schedule: s.schedule,
    tz: s.tz,
    command: argv(s.command),
    overlap: s.overlap,
    timeoutMs: s.timeout === undefined ? CRON_DEFAULT_TIMEOUT_MS : parseDuration(s.timeout)!,
    replace: true,
    source: "stack",
  };
}

/**
 * `cron:` — scheduled jobs (docs/delivery/cron.md): each item is a job of `app`, named by its
 * key. Apply writes it through `POST /v1/apps/:app/cron` (replacing a changed one); the leader's
 * clock runs it. Ranks after apps (30), so a job's app exists first.
 */
export const cronKind: Kind<CronSpec, LiveJob> = {
  name: "cron",
  section: "cron",
  rank: 31,
  schema: CronSpecSchema,

  check(items) {
    const problems = new Map<string, SpecProblem[]>();
    for (const item of items) {
      const list: SpecProblem[] = [];
      const id = CronJobIdSchema.safeParse(item.name);
      if (!id.success)
        list.push({ path: "", message: `the job's name ${id.error.issues[0]!.message}` });
      try {
        parseSchedule(item.spec.schedule, item.spec.tz);
      } catch (err) {
        if (!isGantryError(err)) throw err;
        list.push({ path: err.field ?? "schedule", message: err.message });
      }
      if (list.length > 0) problems.set(item.name, list);
    }
    return problems;
  },

  async read(ctx, names) {
    const wanted = new Set(names);
    const out = new Map<
      string,
      { name: string; value: LiveJob; revisions: Record<string, number> }
    >();
    if (wanted.size === 0) return out;
    for (const job of await new CronClient(ctx.client).all()) {
      if (!wanted.has(job.id) || job.source !== "stack" || out.has(job.id)) continue;
      out.set(job.id, {
        name: job.id,
        value: job,
        revisions: { [`cron/jobs/${job.app}/${job.id}`]: job.modRevision },
      });
    }
    return out;
  },

  diff(item, live) {
    const want = request(item.name, item.spec);
    const fields: [string, unknown, unknown][] = [
      ["app", live?.value.app, item.spec.app],
      ["schedule", live?.value.schedule, want.schedule.trim().replace(/\s+/g, " ")],
      ["tz", live?.value.tz, want.tz],
      ["command", live?.value.command.join(" "), want.command.join(" ")],
      ["overlap", live?.value.overlap, want.overlap],
      [
        "timeout",
        live === undefined ? undefined : formatDuration(live.value.timeoutMs),
        formatDuration(want.timeoutMs!),
      ],
    ];
    const changes: FieldChange[] = [];
    for (const [path, old, now] of fields)
      if (live === undefined || old !== now)
        changes.push({
          path,
          ...(live === undefined ? {} : { old }),
          new: now,
          ...(path === "app" && live !== undefined ? { forcesReplace: true } : {}),
        });
    return changes;
  },

  async create(ctx, item) {
    await add(ctx, item.name, item.spec);
  },
  async update(ctx, item, live) {
    if (live.value.app !== item.spec.app)
      await new CronClient(ctx.client).remove(live.value.app, live.value.id);
    await add(ctx, item.name, item.spec);
  },
  async destroy(ctx, name, live) {
    await new CronClient(ctx.client).remove(live.value.app, name);
  },
};

async function add(ctx: KindContext, id: string, spec: CronSpec): Promise<void> {
  const { job } = await new CronClient(ctx.client).add(spec.app, request(id, spec));
  ctx.progress(`cron ${id}: ${job.app} at "${job.schedule}" (${job.tz})`);
}
