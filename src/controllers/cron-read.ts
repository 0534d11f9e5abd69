/**
 * The cron clock's reads: every job with its run records, then — for the runs still going — their
 * assignments and instances, each in one transaction.
 */
import { kvsOf, parseAll } from "../apps/records.js";
import { assignmentKey, instanceKey } from "../apps/keys.js";
import { AssignmentSchema, InstanceStatusSchema, type InstanceStatus } from "../model/app.js";
import { CronJobSchema, CronRunSchema, type CronRun } from "../model/cron.js";
import { K } from "../model/keys.js";
import type { Store } from "../store/index.js";
import { jobRef, type CronSnapshot } from "../cron/plan.js";

export async function readCron(store: Store, now: () => number): Promise<CronSnapshot> {
  const res = await store.txn({
    success: [
      { type: "get", range: { prefix: K.cronJobs } },
      { type: "get", range: { prefix: K.cronRuns } },
    ],
  });
  const jobs = parseAll(kvsOf(res, 0), CronJobSchema).map((j) => j.value);
  const runs = new Map<string, { value: CronRun; modRevision: number }[]>();
  for (const r of parseAll(kvsOf(res, 1), CronRunSchema)) {
    const ref = jobRef({ app: r.value.app, id: r.value.job });
    const list = runs.get(ref) ?? [];
    list.push(r);
    runs.set(ref, list);
  }
  for (const list of runs.values()) list.sort((a, b) => a.value.tick.localeCompare(b.value.tick));
  const going = [...runs.values()]
    .flat()
    .map((r) => r.value)
    .filter((r) => r.status === "started" && r.instance !== undefined && r.node !== undefined)
    .map((r) => ({ id: r.instance!, node: r.node! }));
  const assignments = new Map<string, string>();
  const instances = new Map<string, InstanceStatus>();
  if (going.length > 0) {
    const more = await store.txn({
      success: going.flatMap((g) => [
        { type: "get" as const, range: assignmentKey(g.node, g.id) },
        { type: "get" as const, range: instanceKey(g.id) },
      ]),
    });
    going.forEach((g, i) => {
      if (parseAll(kvsOf(more, 2 * i), AssignmentSchema).length > 0) assignments.set(g.id, g.node);
      const st = parseAll(kvsOf(more, 2 * i + 1), InstanceStatusSchema)[0];
      if (st !== undefined) instances.set(st.value.id, st.value);
    });
  }
  return { now: now(), jobs, runs, assignments, instances };
}
