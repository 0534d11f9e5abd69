import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { Driver, TaskExit, TaskHandle, TaskSpec, TaskState } from "../driver.js";
import { environHas, groupAlive, groupMembers, killGroup, pidAlive, readStat } from "./procfs.js";

/** The variable that marks every process of an instance: how a restarted agent knows its own. */
export const INSTANCE_ENV = "GANTRY_INSTANCE_ID";

export interface ProcessDriverOptions {
  /** The shell that runs Procfile commands (default /bin/sh). */
  shell?: string;
  /** How often tasks this process did not start are looked at (default 200 ms). */
  pollMs?: number;
  /** After SIGKILL, how long to wait for the group to be gone before giving up (default 5 s). */
  killWaitMs?: number;
}

interface Tracked {
  exited: Promise<TaskExit>;
  exit?: TaskExit;
  /** stop() is under way: it gives the rest of the group its grace period. */
  stopping: boolean;
}

const UNKNOWN_EXIT: TaskExit = { exitCode: null, signal: null };

/**
 * The `process` driver: each instance is `/bin/sh -c <command>` in its own process group
 * (detached), so it outlives an agent restart, with stdout and stderr appended to a file rather
 * than a pipe, so it never blocks or dies because the agent is gone.
 *
 * Running the Procfile command through a shell is not "a shell string built from user input":
 * a Procfile line is shell syntax by definition (Heroku, Dokku, foreman), written by the app's
 * own authors, and runs as the app with exactly the rights the app has anyway. Nothing from a
 * request, a name or a config value is spliced into it — config reaches it only as environment.
 */
export class ProcessDriver implements Driver {
  readonly name = "process";
  private readonly tasks = new Map<string, Tracked>();
  private readonly shell: string;
  private readonly pollMs: number;
  private readonly killWaitMs: number;

  constructor(opts: ProcessDriverOptions = {}) {
    this.shell = opts.shell ?? "/bin/sh";
    this.pollMs = opts.pollMs ?? 200;
    this.killWaitMs = opts.killWaitMs ?? 5000;
  }

  async start(spec: TaskSpec): Promise<TaskHandle> {
    const fd = openSync(spec.logFile, "a", 0o640);
    let child: ChildProcess;
    try {
      child = spawn(this.shell, ["-c", spec.command], {
        cwd: spec.cwd,
        env: { ...spec.env, [INSTANCE_ENV]: spec.id },
        detached: true,
        stdio: ["ignore", fd, fd],
      });
      const spawned = child;
      await new Promise<void>((resolve, reject) => {
        spawned.once("spawn", resolve);
        spawned.once("error", reject);
      });
    } finally {
      closeSync(fd); // the child has its own copy
    }
    child.unref();
    const handle: TaskHandle = {
      driver: this.name,
      id: spec.id,
      pid: child.pid!,
      startedAt: new Date().toISOString(),
    };
    const exited = new Promise<TaskExit>((resolve) => {
      child.once("exit", (exitCode, signal) => resolve({ exitCode, signal }));
    });
    this.track(handle, exited);
    return handle;
  }

  async recover(handle: TaskHandle): Promise<boolean> {
    if (this.tasks.has(key(handle))) return pidAlive(handle.pid);
    if (!this.isOurs(handle.pid, handle.id)) {
      this.cleanLeftovers(handle);
      return false;
    }
    this.track(handle, this.pollExit(handle.pid));
    return true;
  }

  wait(handle: TaskHandle): Promise<TaskExit> {
    const t = this.tracked(handle);
    return t === undefined ? Promise.resolve(UNKNOWN_EXIT) : t.exited;
  }

  async inspect(handle: TaskHandle): Promise<TaskState> {
    const t = this.tracked(handle);
    if (t !== undefined && t.exit === undefined && pidAlive(handle.pid))
      return { running: true, pid: handle.pid };
    return t?.exit === undefined ? { running: false } : { running: false, exit: t.exit };
  }

  async stop(handle: TaskHandle, graceMs: number): Promise<TaskExit> {
    const t = this.tracked(handle);
    if (t === undefined) return UNKNOWN_EXIT; // not ours (or long gone): touch nothing
    const pgid = handle.pid;
    const gone = (): boolean => !pidAlive(pgid) && !groupAlive(pgid);
    t.stopping = true;
    if (!gone()) {
      killGroup(pgid, "SIGTERM");
      if (!(await until(gone, graceMs))) {
        killGroup(pgid, "SIGKILL");
        await until(gone, this.killWaitMs);
      }
    }
    // Its exit is seen through an unref'd child handle or poll: wait a moment for it here with
    // a timer that keeps the process alive (an exiting agent must not fall out of its loop).
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      t.exited,
      new Promise<TaskExit>((r) => (timer = setTimeout(() => r(t.exit ?? UNKNOWN_EXIT), 1000))),
    ]).finally(() => clearTimeout(timer));
  }

  /** A task this driver started or adopted; an unknown handle is adopted only if provably ours. */
  private tracked(handle: TaskHandle): Tracked | undefined {
    const t = this.tasks.get(key(handle));
    if (t !== undefined) return t;
    if (!this.isOurs(handle.pid, handle.id)) return undefined;
    return this.track(handle, this.pollExit(handle.pid));
  }

  private track(handle: TaskHandle, exited: Promise<TaskExit>): Tracked {
    const t: Tracked = {
      stopping: false,
      exited: exited.then((exit) => {
        t.exit = exit;
        // The main process ended by itself: whatever it left in its group (a backgrounded
        // child holding the port) ends with it, so a restart starts clean. During stop() the
        // shell may end first on SIGTERM while the app still shuts down: stop() waits for it.
        if (!t.stopping) killGroup(handle.pid, "SIGKILL");
        return exit;
      }),
    };
    this.tasks.set(key(handle), t);
    return t;
  }

  /** Exit of a process that is not our child: its code is not ours to learn. */
  private pollExit(pid: number): Promise<TaskExit> {
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        if (pidAlive(pid)) return;
        clearInterval(timer);
        resolve(UNKNOWN_EXIT);
      }, this.pollMs);
      timer.unref();
    });
  }

  /** Alive, leading its own group (we start every task detached) and marked with the instance id. */
  private isOurs(pid: number, id: string): boolean {
    return pidAlive(pid) && readStat(pid)?.pgrp === pid && environHas(pid, INSTANCE_ENV, id);
  }

  /** The main process is gone but members of its group may remain: stop those that are ours. */
  private cleanLeftovers(handle: TaskHandle): void {
    for (const pid of groupMembers(handle.pid)) {
      if (environHas(pid, INSTANCE_ENV, handle.id)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }
}

const key = (h: TaskHandle): string => `${h.id}@${h.pid}`;

/** Poll `done` until it holds (true) or `ms` passed (false). */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let delay = 10; ; delay = Math.min(delay * 2, 100)) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
  }
}
