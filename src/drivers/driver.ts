import { constants } from "node:os";

/**
 * Runtime drivers run app instances: `process` (a supervised process group), later `sandbox`
 * (bubblewrap) and `docker`. The agent only talks to this interface; every driver passes the
 * shared contract suite in ./contract.ts.
 */

/** What to run: one instance of an app. */
export interface TaskSpec {
  /** The instance id; the driver marks the task with it (GANTRY_INSTANCE_ID) to find it again. */
  id: string;
  /** Working directory: the unpacked app. */
  cwd: string;
  /** The Procfile command (shell syntax, as on Heroku). */
  command: string;
  /** The complete environment: nothing of the agent's own environment leaks in. */
  env: Record<string, string>;
  /** stdout and stderr are appended here (a file, so the task never depends on the agent). */
  logFile: string;
}

/** How to find a task again, also from a later agent process (kept in the agent's state.json). */
export interface TaskHandle {
  driver: string;
  id: string;
  pid: number;
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
