import * as z from "zod";
import { instanceKey, instancesPrefixOf } from "../../apps/keys.js";
import { sourceFilter, sourceOf, type LogEntry } from "../../apps/logs.js";
import { listPs, psEntry } from "../../apps/ps.js";
import { startOneoff } from "../../apps/run.js";
import { kvsOf, parseAll, parseRecord } from "../../apps/records.js";
import { nodeKey } from "../../catalog/keys.js";
import { ValidationError, notFound } from "../../errors.js";
import { AppNameSchema, AssignmentSchema, InstanceStatusSchema } from "../../model/app.js";
import { K } from "../../model/keys.js";
import { allows } from "../../model/token.js";
import { waitForChange } from "../../store/wait-for-change.js";
import { parseWait } from "../blocking.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam, requestSignal } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { appParam, appsOf } from "./apps-common.js";
import { ONEOFF_TYPES } from "../../model/app.js";

const ShipSchema = z.strictObject({
  lines: z
    .array(
      z.strictObject({
        source: z
          .string()
          .regex(/^[a-z][a-z0-9_.-]{0,63}$/, "must be like web.1, worker.2, run.3 or build"),
        line: z.string().max(65_536),
        time: z.iso.datetime({ offset: true }).optional(),
      }),
    )
    .max(5000),
});

const RunSchema = z.strictObject({
  command: z
    .array(
      z
        .string()
        .max(4096)
        .regex(/^[^\0]*$/, "must not contain NUL"),
    )
    .min(1, "give the command to run")
    .max(64)
    .refine((argv) => argv[0] !== "", "the program must not be empty"),
});

const InstanceIdSchema = AssignmentSchema.shape.id;
const PsFilterSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_.-]{0,63}(,[a-z][a-z0-9_.-]{0,63}){0,31}$/, "must be like web or web.1");

/** Instances (ps), one-off runs, and logs. */
export function appRuntimeRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  return [
    {
      method: "GET",
      path: "/v1/apps/:app/ps",
      summary: "The app's instances: assignments joined with their reported state and health",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "read");
        await appsOf(deps).info(app, ""); // 404 for an unknown app
        ctx.send(200, await listPs(store, app));
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/ps/:id",
      summary: "One instance, also after its one-off ended (?index&wait to block until it changes)",
      handler: async (ctx) => {
        ctx.allowQuery("index", "wait");
        const app = appParam(ctx, "read");
        const id = pathParam(ctx, "id", InstanceIdSchema);
        if (ctx.query.has("index")) {
          await waitForChange(
            store,
            instanceKey(id),
            ctx.int("index", 0),
            parseWait(ctx.query.get("wait")),
            requestSignal(ctx, deps.closing),
          );
        }
        const res = await store.txn({
          success: [
            { type: "get", range: instanceKey(id) },
            { type: "get", range: { prefix: K.assignments } },
            { type: "get", range: { prefix: K.nodes }, keysOnly: true },
          ],
        });
        const status = parseRecord(kvsOf(res, 0)[0], InstanceStatusSchema);
        const a = parseAll(kvsOf(res, 1), AssignmentSchema).find((x) => x.value.id === id)?.value;
        const headers = { "x-gantry-index": String(res.revision) };
        if (a !== undefined && a.app === app) {
          const live = kvsOf(res, 2).some((kv) => kv.key === nodeKey(a.node));
          return ctx.send(200, psEntry(a, status, undefined, !live), headers);
        }
        if (status === undefined || status.app !== app) throw notFound(`instance ${id} of ${app}`);
        // The assignment is gone (a finished one-off): what the agent last said.
        ctx.send(
          200,
          {
            id,
            name: `${status.processType}.${status.index}`,
            processType: status.processType,
            index: status.index,
            release: status.release,
            node: status.node,
            kind: ONEOFF_TYPES.has(status.processType) ? "oneoff" : "run",
            desired: "stopped",
            command: "",
            state: status.state,
            restarts: status.restarts,
            ...(status.exitCode === undefined ? {} : { exitCode: status.exitCode }),
            lastOutput: status.lastOutput,
            updatedAt: status.updatedAt,
          },
          headers,
        );
      },
    },
    {
      method: "POST",
      path: "/v1/apps/:app/run",
      summary:
        "Run a one-off {command: [argv…]} with the current release → {id, source}; output in logs under source, exit code in ps/:id",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = appParam(ctx, "deploy");
        const { command } = await ctx.json(RunSchema);
        ctx.send(201, await startOneoff(store, deps.audit, ctx.who, app, command));
      },
    },
    {
      method: "POST",
      path: "/v1/apps/:app/logs",
      summary:
        "Ship log lines {lines: [{source, line, time?}]} (agents: their node's instances; or app write)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = pathParam(ctx, "app", AppNameSchema);
        await mayShip(ctx, deps, app);
        const { lines } = await ctx.json(ShipSchema);
        const apps = appsOf(deps);
        await apps.info(app, ""); // an unknown app: 404, nothing written
        const written = apps.logs.append(app, lines as LogEntry[]);
        ctx.send(200, { ok: true, lines: written.length });
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/logs",
      summary:
        "Log lines `TIME SOURCE LINE` as text: ?tail=N (default 100), ?ps=web|web.1, ?since=ISO, ?follow to stream new ones",
      handler: async (ctx) => {
        ctx.allowQuery("tail", "ps", "follow", "since");
        const app = appParam(ctx, "read");
        const tail = ctx.int("tail", 100, 100_000);
        const ps = ctx.query.get("ps") ?? undefined;
        if (ps !== undefined && !PsFilterSchema.safeParse(ps).success)
          throw new ValidationError(
            "ps must be a process type or instance, like web or web.1",
            "ps",
          );
        const since = ctx.query.get("since") ?? undefined;
        if (since !== undefined && Number.isNaN(Date.parse(since)))
          throw new ValidationError("since must be an ISO time", "since");
        const sinceIso = since === undefined ? undefined : new Date(since).toISOString();
        const follow = ctx.flag("follow");
        const apps = appsOf(deps);
        await apps.info(app, "");
        const bySource = sourceFilter(ps);
        const keep = (line: string): boolean =>
          bySource(sourceOf(line)) && (sinceIso === undefined || line.slice(0, 24) >= sinceIso);
        ctx.res.writeHead(200, {
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
        });
        // Tail and subscribe in one tick: appends are synchronous, so nothing falls between.
        const lines = apps.logs
          .tail(app, tail, bySource)
          .filter((l) => sinceIso === undefined || l.slice(0, 24) >= sinceIso);
        if (!follow) {
          ctx.res.end(lines.map((l) => l + "\n").join(""));
          return;
        }
        const stop = apps.logs.follow(app, (line) => {
          if (keep(line) && !ctx.res.destroyed) ctx.res.write(line + "\n");
        });
        ctx.res.write(lines.map((l) => l + "\n").join(""));
        const signal = requestSignal(ctx, deps.closing);
        await new Promise<void>((resolve) => {
          if (signal.aborted) return resolve();
          signal.addEventListener("abort", () => resolve(), { once: true });
        });
        stop();
        ctx.res.end();
      },
    },
  ];
}

/**
 * Who may ship an app's logs: a token that may write the app, or an agent's token that may write
 * a node the app has an instance on.
 */
async function mayShip(ctx: Ctx, deps: ApiDeps, app: string): Promise<void> {
  const { policies } = ctx.who;
  if (allows(policies, "app", app, "write")) return;
  // Instance records too: the last lines of a stopped instance come after its assignment went.
  const res = await deps.store.txn({
    success: [
      { type: "get", range: { prefix: K.assignments } },
      { type: "get", range: { prefix: instancesPrefixOf(app) } },
    ],
  });
  const kvs = (i: number) => (res.results[i]?.type === "get" ? res.results[i].kvs : []);
  const nodes = [
    ...parseAll(kvs(0), AssignmentSchema).map((a) => a.value),
    ...parseAll(kvs(1), InstanceStatusSchema).map((s) => s.value),
  ]
    .filter((x) => x.app === app)
    .map((x) => x.node);
  const onMyNode = nodes.some((node) => allows(policies, "node", node, "write"));
  if (!onMyNode) throw forbidden(`ship logs of app "${app}"`);
}
