import { HttpError, notFound } from "../errors.js";
import { DeploySchema, ReleaseSchema, type Deploy } from "../model/app.js";
import type { Store } from "../store/index.js";
import { appKey, deployKey, releasesPrefix } from "./keys.js";
import { kvsOf, parseAll, parseRecord } from "./records.js";

/** The app's deploy record (the running or the last deploy). */
export async function readDeploy(store: Store, name: string): Promise<Deploy | undefined> {
  return parseRecord(await store.get(deployKey(name)), DeploySchema);
}

/** Which release `deploys/current` is about: the running deploy, else the next queued one, else the last. */
export async function currentDeployRelease(store: Store, name: string): Promise<number> {
  const res = await store.txn({
    success: [
      { type: "get", range: appKey(name) },
      { type: "get", range: deployKey(name) },
      { type: "get", range: { prefix: releasesPrefix(name) } },
    ],
  });
  if (kvsOf(res, 0).length === 0) throw notFound(`app "${name}"`);
  const deploy = parseRecord(kvsOf(res, 1)[0], DeploySchema);
  if (deploy?.status === "running") return deploy.release;
  const pending = parseAll(kvsOf(res, 2), ReleaseSchema)
    .map((r) => r.value)
    .filter((r) => r.status === "pending")
    .sort((a, b) => a.version - b.version)[0];
  if (pending !== undefined) return pending.version;
  if (deploy !== undefined) return deploy.release;
  throw new HttpError(404, "not_found", `${name} has not been deployed yet`);
}
