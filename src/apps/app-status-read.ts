import {
  AppSchema,
  AssignmentSchema,
  DeploySchema,
  InstanceStatusSchema,
  type App,
} from "../model/app.js";
import { K } from "../model/keys.js";
import type { Store } from "../store/index.js";
import { appStatuses, type AppStatusView } from "./app-status.js";
import { kvsOf, parseAll } from "./records.js";

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
  const values = <T>(i: number, schema: Parameters<typeof parseAll<T>>[1]): T[] =>
    parseAll(kvsOf(res, i), schema).map((v) => v.value);
  const apps = values(0, AppSchema);
  const status = appStatuses(
    apps,
    values(1, AssignmentSchema),
    values(2, InstanceStatusSchema),
    values(3, DeploySchema),
  );
  return { apps, revision: res.revision, status };
}
