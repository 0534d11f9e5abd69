import { constants } from "node:os";

/**
 * Runtime drivers run app instances: `process` (a supervised process group), `docker` (a
 * container, src/drivers/docker), later `sandbox` (bubblewrap). The agent only talks to this interface; every driver passes the
 * shared contract suite in ./contract.ts.
 */

/** What to run: one instance of an app. */
export interface TaskSpec {
  /** The instance id; the driver marks the task with it (GANTRY_INSTANCE_ID) to find it again. */
  id: string;
  /**
   * Working directory: the unpacked app. A container without `image` gets it bind-mounted
   * read-only at the same path; with `image` it is not used (the image's WORKDIR is).
   */
  cwd: string;
  /** The Procfile command (shell syntax, as on Heroku); empty: an image's own ENTRYPOINT/CMD. */
  command: string;
  /** The complete environment: nothing of the agent's own environment leaks in. */
  env: Record<string, string>;
  /** stdout and stderr are appended here (a file, so the task never depends on the agent). */
  logFile: string;
  /** Container drivers: the image to run (default: Gantry's base image with `cwd` mounted). */
  image?: string;
  /** Container drivers: labels to put on the container (the driver adds its own). */
  labels?: Record<string, string>;
  /** Container drivers: limits and options (absent fields: the driver's defaults). */
  container?: { memoryMb?: number; pids?: number; readOnly?: boolean };
  /** Container drivers: `uid[:gid]` or a user name to run as (default: see the driver). */
  user?: string;
}

/** How to find a task again, also from a later agent process (kept in the agent's state.json). */
export interface TaskHandle {
  driver: string;
  id: string;
  /** The main process's pid on the host (0 when it had ended before it could be read). */
  pid: number;
  /** Container drivers: the container's id. */
  container?: string;
  /** ISO 8601. */
  startedAt: string;
}

/** How a task ended. Both are null when that is unknown (it was not our child when it ended). */
export interface TaskExit {
  exitCode: number | null;
  signal: string | null;
}

export type TaskState = { running: true; pid: number } | { running: false; exit?: TaskExit };

export interface Driver {
  readonly name: string;
  /** Start a task; resolves once it runs (rejects when it could not be started at all). */
  start(spec: TaskSpec): Promise<TaskHandle>;
  /** Resolves when the task has ended (whatever ended it); anything it left behind is stopped. */
  wait(handle: TaskHandle): Promise<TaskExit>;
  /** SIGTERM to the whole task, SIGKILL after `graceMs`; resolves once nothing of it runs. */
  stop(handle: TaskHandle, graceMs: number): Promise<TaskExit>;
  inspect(handle: TaskHandle): Promise<TaskState>;
  /**
   * Adopt a task started by an earlier agent process: true when it still runs and provably is
   * that instance; then wait/stop/inspect work on it as on one this driver started.
   */
  recover(handle: TaskHandle): Promise<boolean>;
}

/** The exit code, or 128 + the signal's number as a shell reports it; null when unknown. */
export function exitCode(exit: TaskExit): number | null {
  if (exit.exitCode !== null) return exit.exitCode;
  const n =
    exit.signal === null
      ? undefined
      : (constants.signals as Record<string, number | undefined>)[exit.signal];
  return n === undefined ? null : 128 + n;
}
