/**
 * The failover flags (docs/ha.md, "Failover"): `--node-grace` on `gantry server` and `gantry up`,
 * `--connect-timeout` on `gantry router`.
 */
import { parseDurationFlag } from "./duration-flag.js";

/** --node-grace: a duration from 0s to 1h (a node gone an hour is not coming back soon), in ms. */
export const parseNodeGrace = (raw: string | undefined): number | undefined =>
  parseDurationFlag(raw, "--node-grace", {
    minMs: 0,
    maxMs: 3_600_000,
    range: "0s to 1h",
    like: "3s or 30s",
  });

/** --node-grace as a server option (left out when not given). */
export function nodeGraceOption(raw: string | undefined): { nodeGraceMs?: number } {
  const ms = parseNodeGrace(raw);
  return ms === undefined ? {} : { nodeGraceMs: ms };
}

/** --connect-timeout: a duration from 50ms to 60s, in ms (undefined when not given). */
export const parseConnectTimeout = (raw: string | undefined): number | undefined =>
  parseDurationFlag(raw, "--connect-timeout", {
    minMs: 50,
    maxMs: 60_000,
    range: "50ms to 60s",
    like: "500ms or 2s",
  });
