import * as z from "zod";
import { catalogKey, healthKey } from "../../catalog/keys.js";
import { nextRecord, parseRecord } from "../../catalog/record.js";
import { ValidationError, HttpError, notFound } from "../../errors.js";
import { durationMs } from "../../model/duration.js";
import {
  CheckIdSchema,
  HealthReportSchema,
  InstanceIdSchema,
  MAX_OUTPUT,
  ServiceNameSchema,
  type HealthRecord,
  type HealthReport,
  type HealthStatus,
  type StoredCheck,
} from "../../model/service.js";
import { allows } from "../../model/token.js";
import {
  LeaseNotFoundError,
  NO_LEASE,
  text,
  type KeyValue,
  type TxnOp,
} from "../../store/index.js";
import { parseWith } from "../../validate.js";
import { parseInstance } from "../../catalog/read.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";

const TTL_ACTIONS: Record<string, HealthStatus> = {
  pass: "passing",
  warn: "warning",
  fail: "critical",
};
const NoteSchema = z.strictObject({ note: z.string().max(MAX_OUTPUT).default("") });
/** Concurrent writers of one result retry this often before giving up with 409. */
const ATTEMPTS = 5;

interface Target {
  service: string;
  id: string;
  checkId: string;
}

export function checkRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;

  const target = (ctx: Ctx): Target => {
    const t = {
      service: pathParam(ctx, "service", ServiceNameSchema),
      id: pathParam(ctx, "id", InstanceIdSchema),
      checkId: pathParam(ctx, "checkId", CheckIdSchema),
    };
    if (!allows(ctx.who.policies, "service", t.service, "write"))
      throw forbidden(`report health for service "${t.service}"`);
    return t;
  };

  /** The instance's key-value, the check's definition and its current result, in one read. */
  const load = async (t: Target) => {
    const res = await store.txn({
      success: [
        { type: "get", range: catalogKey(t.service, t.id) },
        { type: "get", range: healthKey(t.service, t.id, t.checkId) },
      ],
    });
    const first = (i: number): KeyValue | undefined => {
      const r = res.results[i];
      return r?.type === "get" ? r.kvs[0] : undefined;
    };
    const instKv = first(0);
    const inst = instKv === undefined ? undefined : parseInstance(instKv);
    if (instKv === undefined || inst === undefined)
      throw notFound(`instance "${t.id}" of service "${t.service}"`);
    const check = inst.checks.find((c) => c.id === t.checkId);
    if (check === undefined) throw notFound(`check "${t.checkId}" of ${t.service}/${t.id}`);
    const healthKv = first(1);
    const prev = healthKv === undefined ? undefined : parseRecord(text(healthKv.value));
    return { instKv, check, healthKv, prev, revision: res.revision };
  };

  /**
   * Store a result if it changed, guarded so that it lands only while the instance is the one we
   * read and nobody wrote the result meanwhile; the audit log records status changes only (a
   * result repeated every few seconds is not an event worth keeping).
   */
  const write = async (
    ctx: Ctx,
    t: Target,
    report: HealthReport,
    opts: {
      cas?: number;
      lease?: (check: StoredCheck, healthKv: KeyValue | undefined) => Promise<string>;
    },
  ) => {
    for (let attempt = 1; ; attempt++) {
      const { instKv, check, healthKv, prev, revision } = await load(t);
      const modRevision = healthKv?.modRevision ?? 0;
      if (opts.cas !== undefined && opts.cas !== modRevision)
        throw new HttpError(
          409,
          "cas_failed",
          `cas failed: expected modRevision ${opts.cas}, but it is ${modRevision}`,
          "cas",
        );
      const lease = opts.lease === undefined ? NO_LEASE : await opts.lease(check, healthKv);
      // Unchanged results are not written again, unless they must move to another lease.
      const record: HealthRecord | undefined =
        nextRecord(prev, report, new Date()) ??
        (lease !== (healthKv?.lease ?? NO_LEASE) ? prev : undefined);
      if (record === undefined) return { changed: false, revision, record: prev! };
      const key = healthKey(t.service, t.id, t.checkId);
      const ops: TxnOp[] = [{ type: "put", key, value: JSON.stringify(record), lease }];
      if (prev?.status !== record.status)
        ops.push(
          deps.audit.entry(ctx.who, `check.${record.status}`, `${t.service}/${t.id}/${t.checkId}`),
        );
      try {
        const res = await store.txn({
          compare: [
            { key: instKv.key, target: "createRevision", op: "==", value: instKv.createRevision },
            { key, target: "modRevision", op: "==", value: modRevision },
          ],
          success: ops,
        });
        if (res.succeeded) return { changed: true, revision: res.revision, record };
      } catch (err) {
        // The lease expired between granting or refreshing it and the write: take a new one.
        if (!(err instanceof LeaseNotFoundError)) throw err;
      }
      if (opts.cas !== undefined || attempt >= ATTEMPTS)
        throw new HttpError(
          409,
          "conflict",
          `the result of ${t.service}/${t.id}/${t.checkId} changed meanwhile; try again`,
        );
    }
  };

  /**
   * The lease a TTL result lives on: its current one, refreshed, else a new one. A current lease
   * always fits the check's TTL: re-registering with another TTL drops the result (catalog.ts).
   */
  const ttlLease = async (check: StoredCheck, healthKv: KeyValue | undefined): Promise<string> => {
    if (check.type !== "ttl") throw new Error("unreachable: not a ttl check");
    if (healthKv !== undefined && healthKv.lease !== NO_LEASE) {
      try {
        await store.keepAlive(healthKv.lease);
        return healthKv.lease;
      } catch (err) {
        if (!(err instanceof LeaseNotFoundError)) throw err;
      }
    }
    return (await store.grantLease(Math.ceil(durationMs(check.ttl) / 1000))).id;
  };

  return [
    {
      method: "PUT",
      path: "/v1/health/:service/:id/:checkId",
      summary:
        "Report a check result {status, output} (agents); written only when it changed; ?cas=MODREV",
      handler: async (ctx) => {
        ctx.allowQuery("cas");
        const t = target(ctx);
        const report = await ctx.json(HealthReportSchema);
        const cas = ctx.query.has("cas") ? ctx.int("cas", 0) : undefined;
        const res = await write(ctx, t, report, cas === undefined ? {} : { cas });
        ctx.send(200, res, { "x-gantry-index": String(res.revision) });
      },
    },
    {
      method: "PUT",
      path: "/v1/checks/:service/:id/:checkId/:action",
      summary: "Refresh a TTL check: pass, warn or fail; body {note} (optional) becomes its output",
      handler: async (ctx) => {
        ctx.allowQuery();
        const action = ctx.params["action"] ?? "";
        const status = TTL_ACTIONS[action];
        if (status === undefined || !Object.hasOwn(TTL_ACTIONS, action))
          throw new ValidationError(
            `the action must be pass, warn or fail, got "${action}"`,
            "action",
          );
        const t = target(ctx);
        const raw = await ctx.body(MAX_OUTPUT + 1024);
        let body: unknown = {};
        if (raw.length > 0) {
          try {
            body = JSON.parse(raw.toString("utf8"));
          } catch {
            throw new ValidationError(
              'the body must be JSON like {"note": "…"} (or empty)',
              "body",
            );
          }
        }
        const { note } = parseWith(NoteSchema, body);
        const { check } = await load(t);
        if (check.type !== "ttl")
          throw new ValidationError(
            `check "${t.checkId}" of ${t.service}/${t.id} is a ${check.type} check; only ttl checks are reported this way`,
            "checkId",
          );
        const res = await write(ctx, t, { status, output: note }, { lease: ttlLease });
        ctx.send(200, res, { "x-gantry-index": String(res.revision) });
      },
    },
  ];
}
