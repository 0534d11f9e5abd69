import { waitForAny } from "../store/wait-for-change.js";
import { AppSchema, DeploySchema, ScaleSchema } from "../model/app.js";
import type { DeployResult } from "../model/app-views.js";
import type { Store } from "../store/index.js";
import { appKey, deployKey, scaleKey } from "./keys.js";
import { LogCursor } from "./log-cursor.js";
import { kvsOf, parseRecord } from "./records.js";

/** Without any progress for this long past the app's deploy timeout, a follower gives up. */
const STALL_GRACE_MS = 60_000;

/**
 * Follow the scaling `id` of an app (`ps:scale`) until it ends: its progress lines go to `onLine`
 * as the deploy controller writes them, then its outcome. A later `ps:scale` replaces it, which
 * ends this one; a deploy of a new release carries the new formation, and is waited for.
 */
export async function followScale(
  store: Store,
  app: string,
  id: string,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<DeployResult> {
  const cursor = new LogCursor();
  let said = "";
  let stallAt = Infinity;
  for (;;) {
    const res = await store.txn({
      success: [
        { type: "get", range: appKey(app) },
        { type: "get", range: scaleKey(app) },
        { type: "get", range: deployKey(app) },
      ],
    });
    const appRec = parseRecord(kvsOf(res, 0)[0], AppSchema);
    const scale = parseRecord(kvsOf(res, 1)[0], ScaleSchema);
    const deploy = parseRecord(kvsOf(res, 2)[0], DeploySchema);
    if (appRec === undefined) return { ok: false, error: `${app} was destroyed` };
    if (scale === undefined || scale.id !== id)
      return { ok: false, error: "a later ps:scale replaced this one" };
    const fresh = cursor.next(scale.log);
    for (const line of fresh) onLine(line);
    let progress = fresh.length > 0;
    if (scale.status === "running" && deploy?.status === "running") {
      const line = `the deploy of v${deploy.release} is running: the new formation comes with it`;
      if (said !== line) onLine(line);
      progress ||= said !== line;
      said = line;
    }
    if (scale.status === "succeeded") return { ok: true };
    if (scale.status === "failed") return { ok: false, error: scale.error ?? "the scaling failed" };
    const now = Date.now();
    if (progress || stallAt === Infinity) stallAt = now + appRec.deployTimeoutMs + STALL_GRACE_MS;
    if (now >= stallAt)
      return {
        ok: false,
        error: "the scaling made no progress: is the deploy controller running?",
      };
    if (signal.aborted) return { ok: false, error: "stopped following" };
    await waitForAny(
      store,
      [appKey(app), scaleKey(app), deployKey(app)],
      res.revision,
      stallAt - now,
      signal,
    );
  }
}
