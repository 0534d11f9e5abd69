import type { TaskHandle } from "../../drivers/driver.js";
import type { Assignment, InstanceStatus } from "../../model/app.js";
import { LAST_LINES } from "./logs.js";

/** What an instance's status is made of: its own fields and where it runs. */
export interface StatusFacts {
  assignment: Assignment;
  node: string;
  address: string;
  state: InstanceStatus["state"];
  handle: TaskHandle | undefined;
  port: number | undefined;
  restarts: number;
  exitCode: number | null | undefined;
  lastOutput: string[];
  startedAt: string | undefined;
  portMoved: { from: number; to: number; at: string } | undefined;
  /** When the loop starts it again by itself (ms since the epoch); undefined when it will not. */
  restartAt: number | undefined;
}

/** The status the agent reports for an instance. */
export function instanceStatus(f: StatusFacts): InstanceStatus {
  const a = f.assignment;
  return {
    id: a.id,
    app: a.app,
    release: a.release,
    processType: a.processType,
    index: a.index,
    node: f.node,
    state: f.state,
    ...(f.handle === undefined ? {} : { pid: f.handle.pid }),
    ...(f.port === undefined ? {} : { port: f.port, address: f.address }),
    restarts: f.restarts,
    ...(f.exitCode === undefined ? {} : { exitCode: f.exitCode }),
    // Why it crashed (or is not up yet); a running instance has nothing to explain.
    lastOutput:
      f.state === "running"
        ? []
        : f.lastOutput
            .slice(-LAST_LINES)
            .map((l) => (l.length > 1024 ? `${l.slice(0, 1023)}…` : l)),
    updatedAt: new Date().toISOString(),
    ...(f.startedAt === undefined ? {} : { startedAt: f.startedAt }),
    ...(f.portMoved === undefined || f.state === "running" ? {} : { portMoved: f.portMoved }),
    // When it starts again, so that a deploy waiting for it can say so (issue 19).
    ...(f.handle === undefined && f.restartAt !== undefined
      ? { restartAt: new Date(f.restartAt).toISOString() }
      : {}),
  };
}
