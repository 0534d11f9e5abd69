/**
 * The stale review app sweep (leader only; started in src/server/server.ts): a review app whose
 * `review.updatedAt` (its last push) is older than its pipeline's `staleAfter` is destroyed,
 * audited as `app.review.stale`. So is a review app whose pipeline is gone or has review apps
 * off.
 */
import { pipelineOfApp } from "../apps/pipelines.js";
import type { App } from "../model/app.js";
import { DEFAULT_STALE_AFTER_MS } from "../model/pipeline.js";
import type { Principal } from "../model/principal.js";
import { destroyReviewApp, reviewApps } from "./review-apps.js";
import type { ApiDeps } from "./server.js";

const SWEEPER: Principal = { name: "gantry (review app sweep)", tokenId: "", policies: [] };

/** Pure: whether a review app is stale at `now`, given its pipeline's setting. */
export function isStale(app: App, staleAfterMs: number | undefined, now: number): boolean {
  const at = Date.parse(app.review?.updatedAt ?? "");
  if (Number.isNaN(at)) return false;
  return now - at > (staleAfterMs ?? DEFAULT_STALE_AFTER_MS);
}

/** One pass: destroy the stale review apps; answers their names. */
export async function sweepStaleReviews(deps: ApiDeps, now = Date.now()): Promise<string[]> {
  const destroyed: string[] = [];
  for (const app of await reviewApps(deps, {})) {
    const p = await pipelineOfApp(deps.store, app.review!.parent);
    const gone =
      p === undefined ||
      p.value.name !== app.review!.pipeline ||
      p.value.reviewApps?.enabled !== true;
    if (!gone && !isStale(app, p.value.reviewApps?.staleAfterMs, now)) continue;
    const why = gone
      ? "its pipeline has no review apps now"
      : `untouched since ${app.review!.updatedAt}`;
    await deps.store.txn({
      success: [deps.audit.entry(SWEEPER, "app.review.stale", `${app.name} (${why})`)],
    });
    await destroyReviewApp(deps, app.name, SWEEPER);
    destroyed.push(app.name);
  }
  return destroyed;
}

/** Sweep every `intervalMs` (default a minute) until stopped. */
export function startReviewSweep(
  deps: ApiDeps,
  opts: { intervalMs?: number; log?: (line: string) => void } = {},
): { stop(): Promise<void> } {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = (): void => {
    running = sweepStaleReviews(deps).then(
      (names) => {
        if (names.length > 0) log(`review apps: destroyed stale ${names.join(", ")}`);
      },
      (err: unknown) =>
        log(`review apps: the sweep failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
  const timer = setInterval(() => {
    if (!stopped) tick();
  }, opts.intervalMs ?? 60_000);
  timer.unref();
  tick();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
