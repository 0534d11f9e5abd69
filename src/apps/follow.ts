import { waitForAny } from "../store/wait-for-change.js";
import {
  AppSchema,
  DeploySchema,
  releaseKey,
  RELEASE_TIMEOUT_MS,
  ReleaseSchema,
} from "../model/app.js";
import type { DeployResult } from "../model/app-views.js";
import type { Store } from "../store/index.js";
import { appKey, deployKey } from "./keys.js";
import { LogCursor } from "./log-cursor.js";
import { kvsOf, parseRecord } from "./records.js";

/** Without any progress for this long past the app's deploy timeout, a follower gives up. */
const STALL_GRACE_MS = 60_000;

/**
 * Follow the deploy of release `version` until it ends: the deploy's progress lines go to
 * `onLine` as they are written, and the release's final status decides the result (the deploy
 * record only holds the latest deploy, the release record keeps its outcome). A follower that
 * sees no progress for the app's deploy timeout plus a minute gives up, so a push never hangs on
 * a server whose controller is not running.
 */
export async function followDeploy(
  store: Store,
  app: string,
  version: number,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<DeployResult> {
  const cursor = new LogCursor();
  let said = "";
  let lastStatus = "";
  let stallAt = Infinity;
  for (;;) {
    const res = await store.txn({
      success: [
        { type: "get", range: appKey(app) },
        { type: "get", range: releaseKey(app, version) },
        { type: "get", range: deployKey(app) },
      ],
    });
    const appRec = parseRecord(kvsOf(res, 0)[0], AppSchema);
    const rel = parseRecord(kvsOf(res, 1)[0], ReleaseSchema);
    const deploy = parseRecord(kvsOf(res, 2)[0], DeploySchema);
    if (appRec === undefined) return { ok: false, release: version, error: `${app} was destroyed` };
    if (rel === undefined) return { ok: false, release: version, error: `v${version} not found` };
    let progress = rel.status !== lastStatus;
    lastStatus = rel.status;
    if (deploy !== undefined && deploy.release === version) {
      const fresh = cursor.next(deploy.log);
      for (const line of fresh) onLine(line);
      if (fresh.length > 0) progress = true;
    } else if (rel.status === "pending" && deploy?.status === "running") {
      const line = `v${version} is queued: waiting for the deploy of v${deploy.release} to finish`;
      if (said !== line) onLine(line);
      said = line;
    }
    if (rel.status === "active" || rel.status === "superseded")
      return { ok: true, release: version };
    if (rel.status === "failed")
      return { ok: false, release: version, error: rel.error ?? "the deploy failed" };
    if (rel.status === "abandoned")
      return {
        ok: false,
        release: version,
        error: `v${version} was abandoned: ${rel.error ?? "its push did not complete"}`,
      };
    const now = Date.now();
    // A release phase (migrations) may stay quiet for as long as its own time limit.
    const quiet =
      rel.releasePhase?.status === "running"
        ? Math.max(appRec.deployTimeoutMs, appRec.releaseTimeoutMs ?? RELEASE_TIMEOUT_MS)
        : appRec.deployTimeoutMs;
    if (progress || stallAt === Infinity) stallAt = now + quiet + STALL_GRACE_MS;
    if (now >= stallAt)
      return {
        ok: false,
        release: version,
        error: `v${version} is still ${rel.status} with no progress: is the deploy controller running?`,
      };
    if (signal.aborted) return { ok: false, release: version, error: "stopped following" };
    await waitForAny(
      store,
      [appKey(app), releaseKey(app, version), deployKey(app)],
      res.revision,
      stallAt - now,
      signal,
    );
  }
}
