import { K } from "../model/keys.js";
import type { HealthRecord, InstanceView, ServiceInstance } from "../model/service.js";
import { text, type KeyRange, type KeyValue, type Store } from "../store/index.js";
import { parseHealthKey, resultId, serviceHealthPrefix, servicePrefix, nodeKey } from "./keys.js";
import { parseRecord } from "./record.js";
import { instanceView } from "./status.js";

/** Which part of the catalog a read is about. */
export interface CatalogScope {
  service?: string;
  node?: string;
}

export interface CatalogSnapshot {
  revision: number;
  instances: ServiceInstance[];
  views: InstanceView[];
}

/** The ranges a scoped read depends on: a blocking read wakes when any of them changes. */
export function scopeRanges(scope: CatalogScope): KeyRange[] {
  return [
    { prefix: scope.service === undefined ? K.catalog : servicePrefix(scope.service) },
    { prefix: scope.service === undefined ? K.health : serviceHealthPrefix(scope.service) },
    scope.node === undefined ? { prefix: K.nodes } : nodeKey(scope.node),
  ];
}

/**
 * Instances with their health, read in one transaction so instances, results and node liveness
 * are from the same revision.
 */
export async function readCatalog(store: Store, scope: CatalogScope): Promise<CatalogSnapshot> {
  const [catalog, health, nodes] = scopeRanges(scope);
  const res = await store.txn({
    success: [
      { type: "get", range: catalog! },
      { type: "get", range: health! },
      { type: "get", range: nodes!, keysOnly: true },
    ],
  });
  const kvs = (i: number): KeyValue[] => {
    const r = res.results[i];
    return r?.type === "get" ? r.kvs : [];
  };
  const results = new Map<string, HealthRecord>();
  for (const kv of kvs(1)) {
    const where = parseHealthKey(kv.key);
    const record = parseRecord(text(kv.value));
    if (where !== undefined && record !== undefined)
      results.set(resultId(where.service, where.id, where.check), record);
  }
  const live = new Set(kvs(2).map((kv) => kv.key.slice(K.nodes.length)));
  const instances: ServiceInstance[] = [];
  for (const kv of kvs(0)) {
    const inst = parseInstance(kv);
    if (inst === undefined) continue;
    if (scope.node !== undefined && inst.node !== scope.node) continue;
    instances.push(inst);
  }
  const views = instances.map((inst) =>
    instanceView(
      inst,
      (check) => results.get(resultId(inst.service, inst.id, check)),
      live.has(inst.node),
    ),
  );
  return { revision: res.revision, instances, views };
}

/** A stored instance; records are validated when written, so only damaged bytes are skipped. */
export function parseInstance(kv: KeyValue): ServiceInstance | undefined {
  try {
    const inst = JSON.parse(text(kv.value)) as ServiceInstance;
    return typeof inst.service === "string" && Array.isArray(inst.checks) ? inst : undefined;
  } catch {
    return undefined;
  }
}
