import { durationMs } from "../model/duration.js";
import type { CheckView, StoredCheck } from "../model/service.js";

export interface DeregisterDecision {
  /** The check that has been critical too long, when the instance is due. */
  due?: { checkId: string; criticalForMs: number; deregisterAfterMs: number };
  /** When to look again (ms since the epoch) if a critical check will become due later. */
  recheckAt?: number;
}

/**
 * Whether an instance is due for removal: one of its checks with `deregisterAfter` has been
 * critical (per its result's `since`) for at least that long. A check without a result has no
 * `since` and is never the reason: the agent writes a result for it first.
 */
export function deregistrationDue(
  definitions: StoredCheck[],
  results: CheckView[],
  now: number,
): DeregisterDecision {
  let recheckAt: number | undefined;
  for (const def of definitions) {
    if (def.deregisterAfter === undefined) continue;
    const view = results.find((r) => r.id === def.id);
    if (view?.status !== "critical" || view.since === undefined) continue;
    const since = Date.parse(view.since);
    if (Number.isNaN(since)) continue;
    const limit = durationMs(def.deregisterAfter);
    const criticalForMs = now - since;
    if (criticalForMs >= limit)
      return { due: { checkId: def.id, criticalForMs, deregisterAfterMs: limit } };
    recheckAt = Math.min(recheckAt ?? Infinity, since + limit);
  }
  return recheckAt === undefined ? {} : { recheckAt };
}
