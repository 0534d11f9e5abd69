import { ValidationError } from "../errors.js";
import type { KeyRange, Store } from "../store/index.js";
import { waitForAny } from "../store/wait-for-change.js";
import type { Ctx } from "./context.js";
import { requestSignal } from "./path-params.js";

const MAX_WAIT_MS = 10 * 60_000;

/** Parse Consul's `wait` (e.g. `30s`, `5m`, `250ms`; default 5 minutes, at most 10). */
export function parseWait(raw: string | null): number {
  if (raw === null || raw === "") return 5 * 60_000;
  const m = /^(\d{1,7})(ms|s|m)?$/.exec(raw);
  if (m === null)
    throw new ValidationError('wait must be a duration like "30s", "5m" or "250ms"', "wait");
  const n = Number(m[1]);
  const ms = m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
  return Math.min(ms, MAX_WAIT_MS);
}

/**
 * A request's blocking query: with `?index`, wait until something in `ranges` changed after it
 * (or `?wait` passed, or the client left); `?wait` without `?index` is refused.
 */
export async function blockIfAsked(
  ctx: Ctx,
  store: Store,
  ranges: KeyRange[],
  closing: AbortSignal,
): Promise<void> {
  if (ctx.query.has("index")) {
    const index = ctx.int("index", 0);
    const waitMs = parseWait(ctx.query.get("wait"));
    await waitForAny(store, ranges, index, waitMs, requestSignal(ctx, closing));
  } else if (ctx.query.has("wait")) {
    throw new ValidationError("wait needs index (the X-Gantry-Index of a previous answer)", "wait");
  }
}
