/**
 * The failover flags (docs/ha.md, "Failover"): `--node-grace` on `gantry server` and `gantry up`,
 * `--connect-timeout` on `gantry router`.
 */
import { ValidationError } from "../errors.js";
import { parseDuration } from "../model/duration.js";

/** The longest grace: a node gone an hour is not coming back soon. */
const MAX_GRACE_MS = 3_600_000;

/** --node-grace: a duration from 0s to 1h, in ms (undefined when not given). */
export function parseNodeGrace(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined || ms > MAX_GRACE_MS)
    throw new ValidationError(
      `--node-grace must be a duration from 0s to 1h, like 3s or 30s, got "${raw}"`,
      "--node-grace",
    );
  return ms;
}

/** --connect-timeout: a duration from 50ms to 60s, in ms (undefined when not given). */
export function parseConnectTimeout(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 50 || ms > 60_000)
    throw new ValidationError(
      `--connect-timeout must be a duration from 50ms to 60s, like 500ms or 2s, got "${raw}"`,
      "--connect-timeout",
    );
  return ms;
}
