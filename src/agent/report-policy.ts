import type { CheckView } from "../model/service.js";
import type { ProbeResult } from "./probes/index.js";

/** A result sent to the server and when. */
export interface Sent {
  result: ProbeResult;
  at: number;
}

/** A result just sent may not show in the stored view for a moment: do not send it twice. */
export const RESEND_AFTER_MS = 5_000;
/** Output that changes while the status stays (timestamps in a body…) is sent at most this often. */
export const OUTPUT_EVERY_MS = 30_000;

/**
 * Whether a fresh result must be sent: only when it differs from what the server holds (so a
 * steady check costs no writes, and a lost record is written again), not twice in a row while
 * the stored view lags, and output-only changes at most every OUTPUT_EVERY_MS.
 */
export function shouldReport(
  result: ProbeResult,
  stored: CheckView | undefined,
  last: Sent | undefined,
  now: number,
): boolean {
  if (stored?.updatedAt === undefined) return !sameAsLast(result, last, now);
  if (stored.status === result.status && stored.output === result.output) return false;
  if (sameAsLast(result, last, now)) return false;
  if (stored.status === result.status && last !== undefined && now - last.at < OUTPUT_EVERY_MS)
    return false;
  return true;
}

function sameAsLast(result: ProbeResult, last: Sent | undefined, now: number): boolean {
  return (
    last !== undefined &&
    now - last.at < RESEND_AFTER_MS &&
    last.result.status === result.status &&
    last.result.output === result.output
  );
}
