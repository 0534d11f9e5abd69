import { addJob, allJobs, listJobs, listRuns, removeJob } from "../../cron/jobs.js";
import { allows } from "../../model/token.js";
import { CronAddSchema, CronJobIdSchema } from "../../model/cron.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { appFromPath } from "./builds.js";

/** Scheduled jobs (docs/delivery/cron.md): resource `app`, read to list, write to change. */
export function cronRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  return [
    {
      method: "GET",
      path: "/v1/cron",
      summary: "Every scheduled job of the apps the caller may read (the stack's `cron:` reads it)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const jobs = await allJobs(store);
        ctx.send(200, {
          jobs: jobs.filter((j) => allows(ctx.who.policies, "app", j.app, "read")),
        });
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/cron",
      summary:
        "An app's scheduled jobs, each with its next tick and last runs (?runs=N, default 5)",
      handler: async (ctx) => {
        ctx.allowQuery("runs");
        const app = await appFromPath(ctx, store, "read");
        ctx.send(200, { jobs: await listJobs(store, app, ctx.int("runs", 5, 50)) });
      },
    },
    {
      method: "POST",
      path: "/v1/apps/:app/cron",
      summary:
        "Add a scheduled job {schedule, command: [argv…], id?, tz?, overlap?, timeoutMs?, replace?} → 201 {job} (200 when the same job exists)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = await appFromPath(ctx, store, "write");
        const req = await ctx.json(CronAddSchema);
        const { job, changed } = await addJob(store, deps.audit, ctx.who, app, req);
        ctx.send(changed ? 201 : 200, { job, changed });
      },
    },
    {
      method: "DELETE",
      path: "/v1/apps/:app/cron/:id",
      summary: "Remove a scheduled job and its run records (a run going on finishes)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = await appFromPath(ctx, store, "write");
        const id = pathParam(ctx, "id", CronJobIdSchema);
        await removeJob(store, deps.audit, ctx.who, app, id);
        ctx.send(200, { ok: true });
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/cron/:id/runs",
      summary: "A scheduled job's run records (last 50), newest first",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = await appFromPath(ctx, store, "read");
        const id = pathParam(ctx, "id", CronJobIdSchema);
        ctx.send(200, { runs: await listRuns(store, app, id) });
      },
    },
  ];
}
