import { serviceHealthPrefix, servicePrefix, parseHealthKey, resultId } from "../catalog/keys.js";
import { parseRecord as parseCatalogResult } from "../catalog/record.js";
import { instanceView } from "../catalog/status.js";
import { parseInstance } from "../catalog/read.js";
import { AssignmentSchema, InstanceStatusSchema, type Assignment } from "../model/app.js";
import type { PsEntry } from "../model/app-views.js";
import { K } from "../model/keys.js";
import type { HealthRecord, HealthStatus } from "../model/service.js";
import { text, type Store } from "../store/index.js";
import { instanceName, sortTypes } from "./formation.js";
import { instancesPrefixOf } from "./keys.js";
import { kvsOf, parseAll } from "./records.js";

/** A web instance's health as the catalog judges it, with the first failing check's output. */
export interface CatalogHealth {
  status: HealthStatus;
  output: string;
}

/**
 * Health of an app's instances in the catalog (service = app name, id = instance id), from the
 * key-values of `catalog/<app>/`, `health/<app>/` and `nodes/` — the same judgement the router
 * makes (src/catalog/status.ts).
 */
export function catalogHealth(
  catalog: Parameters<typeof parseInstance>[0][],
  health: { key: string; value: Uint8Array }[],
  liveNodes: ReadonlySet<string>,
): Map<string, CatalogHealth> {
  const results = new Map<string, HealthRecord>();
  for (const kv of health) {
    const where = parseHealthKey(kv.key);
    const record = parseCatalogResult(text(kv.value));
    if (where !== undefined && record !== undefined)
      results.set(resultId(where.service, where.id, where.check), record);
  }
  const out = new Map<string, CatalogHealth>();
  for (const kv of catalog) {
    const inst = parseInstance(kv);
    if (inst === undefined) continue;
    const view = instanceView(
      inst,
      (check) => results.get(resultId(inst.service, inst.id, check)),
      liveNodes.has(inst.node),
    );
    const failing = view.checks.find((c) => c.status !== "passing");
    out.set(inst.id, { status: view.status, output: failing?.output ?? "" });
  }
  return out;
}

/** The app's instances: assignments joined with what agents report and the catalog's health. */
export async function listPs(store: Store, app: string): Promise<PsEntry[]> {
  const res = await store.txn({
    success: [
      { type: "get", range: { prefix: K.assignments } },
      { type: "get", range: { prefix: instancesPrefixOf(app) } },
      { type: "get", range: { prefix: servicePrefix(app) } },
      { type: "get", range: { prefix: serviceHealthPrefix(app) } },
      { type: "get", range: { prefix: K.nodes }, keysOnly: true },
    ],
  });
  const assignments = parseAll(kvsOf(res, 0), AssignmentSchema)
    .map((a) => a.value)
    .filter((a) => a.app === app);
  const statuses = new Map(
    parseAll(kvsOf(res, 1), InstanceStatusSchema).map((s) => [s.value.id, s.value]),
  );
  const live = new Set(kvsOf(res, 4).map((kv) => kv.key.slice(K.nodes.length)));
  const health = catalogHealth(kvsOf(res, 2), kvsOf(res, 3), live);
  const order = sortTypes(new Set(assignments.map((a) => a.processType)));
  return assignments
    .sort(
      (a, b) =>
        order.indexOf(a.processType) - order.indexOf(b.processType) ||
        a.index - b.index ||
        a.release - b.release,
    )
    .map((a) => psEntry(a, statuses.get(a.id), health.get(a.id)?.status, !live.has(a.node)));
}

export function psEntry(
  a: Assignment,
  s: ReturnType<typeof InstanceStatusSchema.parse> | undefined,
  health: HealthStatus | undefined,
  nodeDown = false,
): PsEntry {
  return {
    id: a.id,
    name: instanceName(a),
    processType: a.processType,
    index: a.index,
    release: a.release,
    node: a.node,
    kind: a.kind,
    desired: a.desired,
    command: a.command,
    state: s?.state ?? "pending",
    ...(s?.pid === undefined ? {} : { pid: s.pid }),
    ...(s?.port === undefined ? {} : { port: s.port }),
    ...(s?.address === undefined ? {} : { address: s.address }),
    restarts: s?.restarts ?? 0,
    ...(s?.exitCode === undefined ? {} : { exitCode: s.exitCode }),
    lastOutput: s?.lastOutput ?? [],
    ...(s?.startedAt === undefined ? {} : { startedAt: s.startedAt }),
    ...(s?.updatedAt === undefined ? {} : { updatedAt: s.updatedAt }),
    ...(health === undefined ? {} : { health }),
    ...(nodeDown ? { nodeDown } : {}),
  };
}
