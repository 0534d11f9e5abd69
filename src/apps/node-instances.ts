import { AssignmentSchema, InstanceStatusSchema } from "../model/app.js";
import type { PsEntry } from "../model/app-views.js";
import { K } from "../model/keys.js";
import type { Store } from "../store/index.js";
import { catalogHealth, psEntry } from "./ps.js";
import { kvsOf, parseAll } from "./records.js";

/** An instance on a node: its `ps` entry and its app. */
export type NodeInstance = PsEntry & { app: string };

/**
 * The instances assigned to one node, as `ps` shows them (state, health), for the dashboard's
 * node page (`GET /v1/nodes/:name?instances`); `readable` filters them by app.
 */
export async function nodeInstances(
  store: Store,
  node: string,
  readable: (app: string) => boolean,
): Promise<{ instances: NodeInstance[]; live: boolean; revision: number }> {
  const res = await store.txn({
    success: [
      { type: "get", range: { prefix: `${K.assignments}${node}/` } },
      { type: "get", range: { prefix: K.instances } },
      { type: "get", range: { prefix: K.catalog } },
      { type: "get", range: { prefix: K.health } },
      { type: "get", range: { prefix: K.nodes }, keysOnly: true },
    ],
  });
  const assignments = parseAll(kvsOf(res, 0), AssignmentSchema)
    .map((a) => a.value)
    .filter((a) => readable(a.app));
  const ids = new Set(assignments.map((a) => a.id));
  const statuses = new Map(
    parseAll(kvsOf(res, 1), InstanceStatusSchema)
      .filter((s) => ids.has(s.value.id))
      .map((s) => [s.value.id, s.value]),
  );
  const liveNodes = new Set(kvsOf(res, 4).map((kv) => kv.key.slice(K.nodes.length)));
  const health = catalogHealth(kvsOf(res, 2), kvsOf(res, 3), liveNodes);
  const down = !liveNodes.has(node);
  const instances = assignments
    .sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0) || a.index - b.index)
    .map((a) => ({
      ...psEntry(a, statuses.get(a.id), health.get(a.id)?.status, down),
      app: a.app,
    }));
  return { instances, live: !down, revision: res.revision };
}
