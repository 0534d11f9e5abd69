/**
 * `gantry server`'s dead-server cleanup flags (docs/ha.md, "Dead servers"):
 * `--dead-server-cleanup <duration>` (1s..24h, default 30s) and `--min-servers <n>` (1..9,
 * default 2), as ServerOptions.autopilot.
 */
import type { Command } from "commander";
import { AUTOPILOT_BOUNDS, type AutopilotConfig } from "../cluster/autopilot.js";
import { ValidationError } from "../errors.js";
import { parseDuration } from "../model/duration.js";

export interface AutopilotFlags {
  deadServerCleanup?: string;
  minServers?: string;
}

export function addAutopilotFlags(cmd: Command): Command {
  return cmd
    .option(
      "--dead-server-cleanup <duration>",
      "remove an etcd member unreachable this long, while the others keep quorum (1s..24h; default 30s)",
    )
    .option(
      "--min-servers <n>",
      "never remove a dead member when fewer voters than this would remain (1..9; default 2)",
    );
}

/** The flags as ServerOptions.autopilot; undefined when neither was given. */
export function parseAutopilotFlags(f: AutopilotFlags): Partial<AutopilotConfig> | undefined {
  const out: Partial<AutopilotConfig> = {};
  if (f.deadServerCleanup !== undefined) {
    const ms = parseDuration(f.deadServerCleanup);
    const { min, max } = AUTOPILOT_BOUNDS.deadServerCleanupMs;
    if (ms === undefined || ms < min || ms > max)
      throw new ValidationError(
        `--dead-server-cleanup must be a duration from 1s to 24h, like 30s or 5m, got "${f.deadServerCleanup}"`,
        "--dead-server-cleanup",
      );
    out.deadServerCleanupMs = ms;
  }
  if (f.minServers !== undefined) {
    const { min, max } = AUTOPILOT_BOUNDS.minServers;
    const n = /^\d{1,2}$/.test(f.minServers) ? Number(f.minServers) : NaN;
    if (!(n >= min && n <= max))
      throw new ValidationError(
        `--min-servers must be a whole number from ${min} to ${max}, got "${f.minServers}"`,
        "--min-servers",
      );
    out.minServers = n;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}
