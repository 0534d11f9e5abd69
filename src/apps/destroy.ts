import { connectKey, deliveriesPrefix } from "./connect-records.js";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { AuditLog } from "../audit/log.js";
import type { Principal } from "../model/principal.js";
import { serviceHealthPrefix, servicePrefix } from "../catalog/keys.js";
import { AssignmentSchema, InstanceStatusSchema } from "../model/app.js";
import { K } from "../model/keys.js";
import { ACME_KEYS } from "../certs/acme-state.js";
import { CERTS_PREFIX } from "../certs/record.js";
import { cronJobsPrefix, cronRunsPrefix } from "../cron/keys.js";
import type { Store, TxnOp } from "../store/index.js";
import {
  appKey,
  assignmentKey,
  buildsPrefix,
  configKey,
  testConfigKey,
  deployKey,
  scaleKey,
  deployStepKey,
  instanceKey,
  instancesPrefixOf,
  releasesPrefix,
} from "./keys.js";
import type { AppLogs } from "./logs.js";
import { appNotFound, parseAll } from "./records.js";
import { hookPrefix } from "../model/notify.js";

export interface DestroyReport {
  app: string;
  /** Instances that were told to stop. */
  stopped: number;
  /** Of those, how many had not reported stopping when destroy gave up waiting. */
  stillStopping: number;
  /** Artifacts removed because no other app's release uses them. */
  artifactsRemoved: number;
}

/** How long destroy waits for agents to report the app's instances stopped. */
const STOP_WAIT_MS = 5000;
/** Operations per transaction (the store takes at most 128). */
const BATCH = 100;

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * Destroy an app: its records go in one transaction (so the controller stops acting on it and
 * the agents stop its instances; its certificate and ACME state go too), then — once the instances stopped or after a few seconds —
 * its catalog entries, instance records, repository, logs, build cache and the artifacts no
 * other app uses.
 */
export async function destroyApp(
  svc: { store: Store; logs: AppLogs; dataDir: string },
  name: string,
  who: Principal,
  audit: AuditLog,
  stopWaitMs = STOP_WAIT_MS,
): Promise<DestroyReport> {
  const { store } = svc;
  const snap = await store.txn({
    success: [
      { type: "get", range: appKey(name), keysOnly: true },
      { type: "get", range: { prefix: K.assignments } },
    ],
  });
  const appKv = snap.results[0]?.type === "get" ? snap.results[0].kvs[0] : undefined;
  if (appKv === undefined) throw appNotFound(name);
  const all = snap.results[1]?.type === "get" ? snap.results[1].kvs : [];
  const mine = parseAll(all, AssignmentSchema)
    .map((a) => a.value)
    .filter((a) => a.app === name);
  const ops: TxnOp[] = [
    { type: "delete", range: appKey(name) },
    { type: "delete", range: configKey(name) },
    { type: "delete", range: testConfigKey(name) },
    { type: "delete", range: deployKey(name) },
    { type: "delete", range: scaleKey(name) },
    { type: "delete", range: deployStepKey(name) },
    { type: "delete", range: { prefix: releasesPrefix(name) } },
    { type: "delete", range: { prefix: buildsPrefix(name) } },
    // Its certificate goes with it: a new app of the same name must not inherit it.
    { type: "delete", range: CERTS_PREFIX + name },
    { type: "delete", range: ACME_KEYS.status + name },
    { type: "delete", range: ACME_KEYS.off + name },
    // Its scheduled jobs and their runs (src/model/cron.ts).
    { type: "delete", range: { prefix: cronJobsPrefix(name) } },
    { type: "delete", range: { prefix: cronRunsPrefix(name) } },
    // Its notification webhooks (src/model/notify.ts): a new app of the same name starts without.
    { type: "delete", range: { prefix: hookPrefix(`app:${name}`) } },
    // Its connection to an outside repo and the webhook deliveries seen (src/model/connect.ts).
    { type: "delete", range: connectKey(name) },
    { type: "delete", range: { prefix: deliveriesPrefix(name) } },
    audit.entry(who, "app.destroy", name),
  ];
  const deletes = mine.map((a): TxnOp => ({ type: "delete", range: assignmentKey(a.node, a.id) }));
  const [first = [], ...rest] = chunks(deletes, BATCH);
  const res = await store.txn({
    compare: [{ key: appKey(name), target: "modRevision", op: "==", value: appKv.modRevision }],
    success: [...ops, ...first],
  });
  if (!res.succeeded) return destroyApp(svc, name, who, audit, stopWaitMs);
  // The app record is gone: nothing makes new assignments for it, the rest can follow.
  for (const batch of rest) await store.txn({ success: batch });

  const stillStopping = await waitForStop(
    store,
    mine.map((a) => a.id),
    stopWaitMs,
  );
  const left = await store.range({ prefix: instancesPrefixOf(name) });
  const instances = parseAll(left.kvs, InstanceStatusSchema).filter((i) => i.value.app === name);
  await store.txn({
    success: [
      { type: "delete", range: { prefix: servicePrefix(name) } },
      { type: "delete", range: { prefix: serviceHealthPrefix(name) } },
    ],
  });
  const instanceDeletes = instances.map(
    (i): TxnOp => ({ type: "delete", range: instanceKey(i.value.id) }),
  );
  for (const batch of chunks(instanceDeletes, BATCH)) await store.txn({ success: batch });

  const dataDir = svc.dataDir;
  const { removeAppRepo } = await import("../build/repo.js");
  removeAppRepo(dataDir, name);
  svc.logs.remove(name);
  rmSync(join(dataDir, "cache", name), { recursive: true, force: true });
  // The mirror of its connected repo on this server (src/api/connect-build.ts).
  rmSync(join(dataDir, "connect", `${name}.git`), { recursive: true, force: true });
  const { gcArtifacts } = await import("../build/artifacts.js");
  const gc = await gcArtifacts(dataDir, store);
  return { app: name, stopped: mine.length, stillStopping, artifactsRemoved: gc.removed.length };
}

/** Wait until none of `ids` reports a live process; answers how many still did at the end. */
async function waitForStop(store: Store, ids: string[], waitMs: number): Promise<number> {
  if (ids.length === 0) return 0;
  const until = Date.now() + waitMs;
  for (;;) {
    let live = 0;
    for (const batch of chunks(ids, BATCH)) {
      const res = await store.txn({
        success: batch.map((id) => ({ type: "get" as const, range: instanceKey(id) })),
      });
      const statuses = parseAll(
        res.results.flatMap((r) => (r.type === "get" ? r.kvs : [])),
        InstanceStatusSchema,
      );
      for (const s of statuses)
        if (s.value.state === "running" || s.value.state === "starting") live++;
    }
    if (live === 0 || Date.now() >= until) return live;
    await new Promise((r) => setTimeout(r, 100));
  }
}
