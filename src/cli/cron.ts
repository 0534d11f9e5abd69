import type { Command } from "commander";
import { CronClient } from "../client/cron.js";
import { ValidationError } from "../errors.js";
import { AppNameSchema } from "../model/app.js";
import { CronJobIdSchema, type CronJobView, type CronRun } from "../model/cron.js";
import { formatDuration, parseDuration } from "../model/duration.js";
import { json, table, type Output } from "../output/output.js";
import { parseWith } from "../validate.js";
import { clientFromEnv } from "./config.js";

const cron = (): CronClient => new CronClient(clientFromEnv());

/** `gantry cron`, `cron:add`, `cron:runs`, `cron:remove` (docs/delivery/cron.md). */
export function registerCronCommands(program: Command, o: Output): void {
  program
    .command("cron:add <app> <schedule> <command...>")
    .description("run a command on a schedule, as a one-off of the app's current release")
    .option("--name <id>", "the job's name (default: from the command)")
    .option("--overlap", "start a tick's run even while the previous one still runs")
    .option("--timeout <duration>", "stop a run after this long (default 1h, at most 24h)")
    .option("--tz <zone>", "the time zone the schedule is read in (default UTC)")
    .addHelpText(
      "after",
      `
SCHEDULE is a cron expression: 5 fields (minute hour day month weekday) or 6 with seconds
first. The leader runs each tick once across all servers; output is in gantry logs APP --ps cron.
Examples:
  $ gantry cron:add hello "*/5 * * * *" -- node task.js
  $ gantry cron:add hello "0 3 * * *" --name nightly --tz Europe/Paris --timeout 10m -- npm run report`,
    )
    .action(
      async (
        app: string,
        schedule: string,
        command: string[],
        opts: { name?: string; overlap?: boolean; timeout?: string; tz?: string },
      ) => {
        const name = parseWith(AppNameSchema, app, "app");
        const timeoutMs = opts.timeout === undefined ? undefined : parseDuration(opts.timeout);
        if (opts.timeout !== undefined && timeoutMs === undefined)
          throw new ValidationError(
            `--timeout "${opts.timeout}" is not a duration such as 90s, 10m or 1h`,
            "timeout",
          );
        const { job, changed } = await cron().add(name, {
          schedule,
          command,
          ...(opts.name === undefined ? {} : { id: parseWith(CronJobIdSchema, opts.name, "name") }),
          ...(opts.tz === undefined ? {} : { tz: opts.tz }),
          ...(opts.overlap === true ? { overlap: true } : {}),
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
        });
        o.out(
          `${changed ? "Added" : "Unchanged:"} ${name}/${job.id}: ${job.schedule} (${job.tz}) ${job.command.join(" ")}`,
        );
      },
    );

  program
    .command("cron <app>")
    .description("an app's scheduled jobs: schedule, next run, last runs with exit codes")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry cron hello
  $ gantry cron hello --json | jq '.[] | {id, next, last: .runs[0].status}'`,
    )
    .action(async (app: string, opts: { json?: boolean }) => {
      const jobs = await cron().list(parseWith(AppNameSchema, app, "app"));
      if (opts.json === true) return json(o, jobs);
      showJobs(o, jobs);
    });

  program
    .command("cron:runs <app> <id>")
    .description("a scheduled job's runs (last 50): tick, status, exit code, lateness")
    .option("--json", "print as JSON")
    .action(async (app: string, id: string, opts: { json?: boolean }) => {
      const runs = await cron().runs(
        parseWith(AppNameSchema, app, "app"),
        parseWith(CronJobIdSchema, id, "id"),
      );
      if (opts.json === true) return json(o, runs);
      table(
        o,
        ["TICK", "STATUS", "INSTANCE", "NODE", "LATE", "TOOK", "DETAIL"],
        runs.map((r) => [
          r.tick,
          outcome(r),
          r.name ?? "",
          r.node ?? "",
          late(r),
          took(r),
          r.reason ?? "",
        ]),
        "(no runs yet)",
      );
    });

  program
    .command("cron:remove <app> <id>")
    .description("remove a scheduled job and its history (a run going on finishes)")
    .action(async (app: string, id: string) => {
      const name = parseWith(AppNameSchema, app, "app");
      const job = parseWith(CronJobIdSchema, id, "id");
      await cron().remove(name, job);
      o.out(`Removed ${name}/${job}`);
    });
}

function showJobs(o: Output, jobs: CronJobView[]): void {
  table(
    o,
    ["ID", "SCHEDULE", "TZ", "NEXT", "COMMAND", "LAST RUNS"],
    jobs.map((j) => [
      j.id,
      j.schedule,
      j.tz,
      j.next ?? "never",
      j.command.join(" "),
      j.runs.map((r) => `${r.tick.slice(11, 19)} ${outcome(r)}`).join(", "),
    ]),
    "(no scheduled jobs: add one with gantry cron:add APP SCHEDULE -- COMMAND)",
  );
}

/** A run's status as the tables show it: `failed (exit 2)`. */
export function outcome(r: CronRun): string {
  if (r.status === "failed" && r.exitCode !== undefined && r.exitCode !== null)
    return `failed (exit ${r.exitCode})`;
  if (r.status === "succeeded") return "succeeded (exit 0)";
  return r.status;
}

/** Start lateness: the process's start (or the assignment's write) minus the tick. */
function late(r: CronRun): string {
  const at = r.startedAt ?? r.assignedAt;
  return at === undefined ? "" : formatDuration(Math.max(0, Date.parse(at) - Date.parse(r.tick)));
}

function took(r: CronRun): string {
  if (r.startedAt === undefined || r.finishedAt === undefined) return "";
  return formatDuration(Math.max(0, Date.parse(r.finishedAt) - Date.parse(r.startedAt)));
}
