/**
 * The deploy controller's read of one app (deploy.ts): everything the planner needs, from one
 * revision, with the app's step counter — and the controller's memory of nodes seen down.
 */
import {
  instancesPrefixOf,
  appKey,
  deployKey,
  deployStepKey,
  releasesPrefix,
  scaleKey,
} from "../apps/keys.js";
import { catalogHealth } from "../apps/ps.js";
import { kvsOf, parseAll, parseRecord } from "../apps/records.js";
import { serviceHealthPrefix, servicePrefix } from "../catalog/keys.js";
import {
  AppSchema,
  AssignmentSchema,
  DeploySchema,
  InstanceStatusSchema,
  ReleaseSchema,
  ScaleSchema,
} from "../model/app.js";
import { K } from "../model/keys.js";
import { text, type KeyValue, type Store } from "../store/index.js";
import type { NodeRecord } from "../model/node.js";
import type { DeploySnapshot } from "./plan-types.js";
import { nodeInfoOf, placedOf } from "./plan-placement.js";

export interface Snapshot {
  snap: DeploySnapshot;
  /** The modRevision of the app's step key (0: none yet). */
  step: number;
  /** The store revision it was read at. */
  revision: number;
}

/**
 * Read one app's records in one transaction. `downSince` (nodes that hold assignments but are
 * not live, and since when) is brought up to date as a side effect: it is the controller's
 * memory, not the store's.
 */
export async function readSnapshot(
  store: Store,
  app: string,
  now: () => number,
  downSince: Map<string, number>,
): Promise<Snapshot> {
  const res = await store.txn({
    success: [
      { type: "get", range: appKey(app) },
      { type: "get", range: { prefix: releasesPrefix(app) } },
      { type: "get", range: deployKey(app) },
      { type: "get", range: { prefix: K.assignments } },
      { type: "get", range: { prefix: instancesPrefixOf(app) } },
      { type: "get", range: { prefix: servicePrefix(app) } },
      { type: "get", range: { prefix: serviceHealthPrefix(app) } },
      { type: "get", range: { prefix: K.nodes } },
      { type: "get", range: deployStepKey(app), keysOnly: true },
      { type: "get", range: { prefix: K.drains }, keysOnly: true },
      { type: "get", range: scaleKey(app) },
    ],
  });
  const appKv = kvsOf(res, 0)[0];
  const appRec = parseRecord(appKv, AppSchema);
  const deployKv = kvsOf(res, 2)[0];
  const deploy = parseRecord(deployKv, DeploySchema);
  const scaleKv = kvsOf(res, 10)[0];
  const scale = parseRecord(scaleKv, ScaleSchema);
  const assignments = parseAll(kvsOf(res, 3), AssignmentSchema);
  const nodes = kvsOf(res, 7).map((kv) => kv.key.slice(K.nodes.length));
  noteDownNodes(
    downSince,
    nodes,
    assignments.map((a) => a.value.node),
    now(),
  );
  const instances = new Map(
    parseAll(kvsOf(res, 4), InstanceStatusSchema)
      .filter((s) => s.value.app === app)
      .map((s) => [s.value.id, s.value]),
  );
  const snap: DeploySnapshot = {
    now: now(),
    app: appRec === undefined ? undefined : { value: appRec, modRevision: appKv!.modRevision },
    releases: parseAll(kvsOf(res, 1), ReleaseSchema),
    deploy:
      deploy === undefined ? undefined : { value: deploy, modRevision: deployKv!.modRevision },
    ...(scale === undefined ? {} : { scale: { value: scale, modRevision: scaleKv!.modRevision } }),
    assignments: assignments.filter((a) => a.value.app === app),
    instances,
    health: catalogHealth(kvsOf(res, 5), kvsOf(res, 6), new Set(nodes)),
    nodes,
    downSince,
    draining: new Set(kvsOf(res, 9).map((kv) => kv.key.slice(K.drains.length))),
    others: assignments
      .filter((a) => a.value.app !== app && a.value.desired === "running")
      .map((a) => placedOf(a.value)),
    nodeInfo: new Map(nodeRecords(kvsOf(res, 7)).map((r) => [r.name, nodeInfoOf(r)])),
  };
  return { snap, step: kvsOf(res, 8)[0]?.modRevision ?? 0, revision: res.revision };
}

/**
 * Remember when each node that holds assignments was first seen not live; forget nodes that are
 * back or hold nothing. A controller that starts afresh gives every node its full grace.
 */
function noteDownNodes(
  downSince: Map<string, number>,
  live: string[],
  assigned: string[],
  now: number,
): void {
  const up = new Set(live);
  const holding = new Set(assigned);
  for (const node of downSince.keys())
    if (up.has(node) || !holding.has(node)) downSince.delete(node);
  for (const node of holding) if (!up.has(node) && !downSince.has(node)) downSince.set(node, now);
}

/** Node records (labels and facts, for placement); one that does not parse is left out. */
function nodeRecords(kvs: KeyValue[]): NodeRecord[] {
  const out: NodeRecord[] = [];
  for (const kv of kvs) {
    try {
      const r = JSON.parse(text(kv.value)) as NodeRecord;
      if (typeof r.name === "string" && typeof r.facts?.cpus === "number") out.push(r);
    } catch {
      // not JSON: no labels, unknown capacity
    }
  }
  return out;
}
