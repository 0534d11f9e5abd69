import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { GantryClient } from "../../client/client.js";
import type { Driver } from "../../drivers/driver.js";
import type { BackoffPolicy } from "./backoff.js";
import { rangeSize, type PortRange } from "./port-range.js";

/** How an InstanceRunner is made: its client and node, and tuning (mostly for tests). */
export interface InstanceRunnerOptions {
  /** A client whose token may write this node (and register services, ship logs). */
  client: GantryClient;
  nodeName: string;
  /** The agent's own directory: state.json, instances/<id>/, artifacts/. */
  dataDir: string;
  /** The `process` driver (default: a ProcessDriver). */
  driver?: Driver;
  /** The `docker` driver, or how to make it when first needed (default: a DockerDriver). */
  dockerDriver?: Driver | (() => Driver);
  /**
   * The agent's own token: the password it pulls images from a registry with (user "gantry"),
   * which Gantry's registry accepts for pulls by node tokens.
   */
  registryToken?: string;
  log?: (line: string) => void;
  /** How long one blocking read of the assignments waits (default "30s"). */
  wait?: string;
  /** SIGTERM → SIGKILL grace when an instance is stopped (default 10 s). */
  stopGraceMs?: number;
  backoff?: Partial<BackoffPolicy>;
  /** The address instances are registered with in the catalog (default 127.0.0.1). */
  address?: string;
  /**
   * Where instance ports come from; a range given must lie outside the kernel's ephemeral ports
   * (checked when the runner is made: PortRangeOverlapError). Default 20000-32000, or where that
   * overlaps them the largest range outside, logged (choosePortRange).
   */
  portRange?: PortRange;
  /** The environment instances start from (default: PATH, LANG, TZ of the agent; nothing else). */
  baseEnv?: Record<string, string>;
  /** A process counts as running after this long (default 1 s). */
  runningAfterMs?: number;
  /** Status reports and catalog sync run at least this often (default 1 s). */
  tickMs?: number;
  /** Log lines kept while the server cannot take them (default 10,000). */
  maxQueuedLogLines?: number;
  /** How often output is shipped (default 250 ms). */
  logFlushMs?: number;
}

/** Released ports remembered in state.json, so that a restarted agent still reuses them last. */
export const REMEMBERED_RELEASES = 1024;

/**
 * Where an agent's line of ports begins: a hash of its data directory, so two agents on one
 * machine (`gantry up` and a `gantry agent`) do not hand out the same ports in step.
 */
export function startPort(dataDir: string, range: PortRange): number {
  const h = createHash("sha256").update(resolve(dataDir)).digest().readUInt32BE(0);
  return range.first + (h % rangeSize(range));
}
