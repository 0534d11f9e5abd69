/**
 * Act on a due tick in ONE transaction: the run record is written only if absent (so of two
 * servers that both think they lead, or a clock that looks twice, one acts) together with the
 * one-off's assignment — or, when the tick is skipped or cannot run, the record alone.
 */
import { assignmentCode, hasCode } from "../apps/release-code.js";
import { appKey, assignmentKey } from "../apps/keys.js";
import { oneoffAssignment } from "../apps/oneoff-assignment.js";
import { instanceName } from "../apps/formation.js";
import { kvsOf, parseAll, parseRecord } from "../apps/records.js";
import { idSuffix, shellJoin } from "../apps/run.js";
import {
  AppSchema,
  AssignmentSchema,
  releaseKey,
  ReleaseSchema,
  type Assignment,
} from "../model/app.js";
import type { CronRun } from "../model/cron.js";
import { K } from "../model/keys.js";
import type { Compare, Store, TxnOp } from "../store/index.js";
import { cronRunKey } from "../cron/keys.js";
import type { DueTick } from "../cron/plan.js";

export type TickOutcome = "started" | "skipped" | "failed" | "taken";

export interface TickResult {
  outcome: TickOutcome;
  reason?: string;
}

export async function actOnTick(store: Store, d: DueTick, now: () => number): Promise<TickResult> {
  const { job, tick } = d;
  const key = cronRunKey(job.app, job.id, tick);
  const base: CronRun = { job: job.id, app: job.app, tick, status: "started" };
  const extra: TxnOp[] = d.prune.map((k) => ({ type: "delete", range: k }));
  if (d.missed !== undefined) {
    const missed: CronRun = {
      ...base,
      tick: d.missed.first,
      status: "missed",
      reason: `${d.missed.count} tick(s) from ${d.missed.first} passed while no server ran the clock; only the latest (${tick}) runs`,
    };
    extra.push({
      type: "put",
      key: cronRunKey(job.app, job.id, d.missed.first),
      value: JSON.stringify(missed),
    });
  }
  const absent: Compare = { key, target: "createRevision", op: "==", value: 0 };
  const record = async (run: CronRun, why: TickOutcome): Promise<TickResult> => {
    const res = await store.txn({
      compare: [absent],
      success: [{ type: "put", key, value: JSON.stringify(run) }, ...extra],
    });
    return res.succeeded
      ? { outcome: why, ...(run.reason === undefined ? {} : { reason: run.reason }) }
      : { outcome: "taken" };
  };
  if (d.skip !== undefined)
    return record({ ...base, status: "skipped", reason: d.skip }, "skipped");
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = await store.txn({
      success: [
        { type: "get", range: appKey(job.app) },
        { type: "get", range: { prefix: K.assignments } },
        { type: "get", range: { prefix: K.nodes }, keysOnly: true },
        { type: "get", range: key, keysOnly: true },
      ],
    });
    if (kvsOf(res, 3).length > 0) return { outcome: "taken" };
    const appKv = kvsOf(res, 0)[0];
    const rec = parseRecord(appKv, AppSchema);
    const failed = (reason: string) =>
      record(
        { ...base, status: "failed", finishedAt: new Date(now()).toISOString(), reason },
        "failed",
      );
    if (appKv === undefined || rec === undefined) return failed(`app ${job.app} is gone`);
    const rel =
      rec.currentRelease === 0
        ? undefined
        : parseRecord(await store.get(releaseKey(job.app, rec.currentRelease)), ReleaseSchema);
    if (rel === undefined || !hasCode(rel))
      return failed(`${job.app} has no running release to run the command with: push code first`);
    const running = parseAll(kvsOf(res, 1), AssignmentSchema)
      .map((a) => a.value)
      .filter((a) => a.desired === "running");
    const nodes = kvsOf(res, 2).map((kv) => kv.key.slice(K.nodes.length));
    const assignedAt = new Date(now()).toISOString();
    const a: Assignment | undefined = oneoffAssignment({
      app: job.app,
      rec,
      running,
      nodes,
      spec: {
        processType: "cron",
        release: rel.version,
        ...assignmentCode(rel, rec),
        command: shellJoin(job.command),
      },
      createdAt: assignedAt,
      suffix: idSuffix(),
    });
    if (a === undefined) return failed("there was no live node to run it on");
    const run: CronRun = {
      ...base,
      instance: a.id,
      name: instanceName(a),
      node: a.node,
      release: a.release,
      assignedAt,
    };
    const put = await store.txn({
      compare: [
        absent,
        { key: appKey(job.app), target: "modRevision", op: "==", value: appKv.modRevision },
      ],
      success: [
        { type: "put", key, value: JSON.stringify(run) },
        { type: "put", key: assignmentKey(a.node, a.id), value: JSON.stringify(a) },
        ...extra,
      ],
    });
    if (put.succeeded) return { outcome: "started" };
  }
  return { outcome: "taken" };
}
