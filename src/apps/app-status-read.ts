import * as z from "zod";
import { AppSchema, AssignmentSchema, DeploySchema, InstanceStatusSchema } from "../model/app.js";
import type { App, Assignment, Deploy, InstanceStatus } from "../model/app.js";
import { K } from "../model/keys.js";
import type { KeyValue, Store } from "../store/index.js";
import { text } from "../store/index.js";
import { appStatuses, type AppStatusView } from "./app-status.js";
import { kvsOf } from "./records.js";

// Only the fields a status needs: a deploy's log (up to 200 lines) and an instance's last output
// are neither validated nor kept.
const DeployPart = DeploySchema.pick({
  app: true,
  release: true,
  status: true,
  startedAt: true,
  finishedAt: true,
}).strip();
const AssignmentPart = AssignmentSchema.pick({
  id: true,
  app: true,
  kind: true,
  desired: true,
}).strip();
const InstancePart = InstanceStatusSchema.pick({ id: true, state: true }).strip();

/**
 * Parsed records by key, reused while their modRevision stays (a modRevision names one value):
 * the dashboard refetches the list on every change, and most records have not changed.
 */
class ParseCache<T> {
  private map = new Map<string, { rev: number; value: T | undefined }>();
  constructor(private readonly schema: z.ZodType<T>) {}

  all(kvs: readonly KeyValue[]): T[] {
    const next = new Map<string, { rev: number; value: T | undefined }>();
    const out: T[] = [];
    for (const kv of kvs) {
      let hit = this.map.get(kv.key);
      if (hit === undefined || hit.rev !== kv.modRevision) {
        let value: T | undefined;
        try {
          const r = this.schema.safeParse(JSON.parse(text(kv.value)));
          value = r.success ? r.data : undefined;
        } catch {
          value = undefined;
        }
        hit = { rev: kv.modRevision, value };
      }
      next.set(kv.key, hit);
      if (hit.value !== undefined) out.push(hit.value);
    }
    this.map = next;
    return out;
  }
}

const caches = new WeakMap<
  Store,
  {
    apps: ParseCache<App>;
    assignments: ParseCache<Pick<Assignment, "id" | "app" | "kind" | "desired">>;
    instances: ParseCache<Pick<InstanceStatus, "id" | "state">>;
    deploys: ParseCache<Pick<Deploy, "app" | "release" | "status" | "startedAt" | "finishedAt">>;
  }
>();

function cachesOf(store: Store) {
  let c = caches.get(store);
  if (c === undefined)
    caches.set(
      store,
      (c = {
        apps: new ParseCache(AppSchema),
        assignments: new ParseCache(AssignmentPart),
        instances: new ParseCache(InstancePart),
        deploys: new ParseCache(DeployPart),
      }),
    );
  return c;
}

/** Every app with its status (src/apps/app-status.ts), read in one revision. */
export async function listWithStatus(
  store: Store,
): Promise<{ apps: App[]; revision: number; status: Map<string, AppStatusView> }> {
  const res = await store.txn({
    success: [
      { type: "get", range: { prefix: K.apps } },
      { type: "get", range: { prefix: K.assignments } },
      { type: "get", range: { prefix: K.instances } },
      { type: "get", range: { prefix: K.deploys } },
    ],
  });
  const c = cachesOf(store);
  const apps = c.apps.all(kvsOf(res, 0));
  const status = appStatuses(
    apps,
    c.assignments.all(kvsOf(res, 1)),
    c.instances.all(kvsOf(res, 2)),
    c.deploys.all(kvsOf(res, 3)),
  );
  return { apps, revision: res.revision, status };
}
