import type { AgentWorkClient } from "../../client/agent-work.js";
import type { Assignment, InstanceStatus } from "../../model/app.js";
import type { ArtifactCache } from "./artifacts.js";
import type { BackoffPolicy } from "./backoff.js";
import type { Drivers } from "./drivers.js";
import type { Instance } from "./instance.js";
import type { LogShipper } from "./logs.js";
import type { PortPool } from "./ports.js";

/** What an instance needs from the agent around it. */
export interface InstanceContext {
  node: string;
  /** The runtime drivers: an assignment's runtime picks one, a handle names its own. */
  drivers: Drivers;
  work: AgentWorkClient;
  artifacts: ArtifactCache;
  shipper: LogShipper;
  /** `AGENT_DATA/instances/<id>`: app/, output.log, artifact (the sha unpacked in app/). */
  dir: string;
  /** Where other nodes reach the instance (catalog address). */
  address: string;
  /** The environment every instance starts from (PATH…); config and PORT go on top. */
  baseEnv: Record<string, string>;
  stopGraceMs: number;
  backoff: BackoffPolicy;
  /** A started process counts as running once it has stayed up this long. */
  runningAfterMs: number;
  /** The agent's instance ports: one is taken when first needed, another when it was taken. */
  ports: PortPool;
  /** Something reportable changed: status, handle, port. */
  changed: (inst: Instance) => void;
  log: (line: string) => void;
}

export type State = InstanceStatus["state"];

/** The fields of an assignment that make a different process: any change means a new one. */
export const specOf = (a: Assignment): string =>
  JSON.stringify([
    a.app,
    a.release,
    a.artifact,
    a.image,
    a.runtime,
    a.container,
    a.command,
    a.processType,
    a.kind,
  ]);
