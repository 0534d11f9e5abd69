import { closeSync, existsSync, openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type Docker from "dockerode";
import { ensureBaseImage } from "../../containers/base-image.js";
import { DockerError, dockerEngine, engineMessage, engineStatus } from "../../docker/engine.js";
import { ensureImage, registryHost, type RegistryAuth } from "../../docker/pull.js";
import type { Driver, TaskExit, TaskHandle, TaskSpec, TaskState } from "../driver.js";
import { copyLogs } from "./log-copier.js";
import { containerOptions, exitFromStatus, INSTANCE_LABEL } from "./options.js";

/** The label that names the file a container's output is copied to (read back on adoption). */
export const LOGFILE_LABEL = "gantry.logfile";

export interface DockerDriverOptions {
  /** The engine (default: dockerEngine()). */
  engine?: Docker;
  /** Credentials for pulling from a registry host; undefined pulls anonymously. */
  registryAuth?: (host: string) => RegistryAuth | undefined;
  /** Gantry's base image for tasks without one (default: ensureBaseImage). */
  baseImage?: (engine: Docker) => Promise<string>;
}

interface Tracked {
  container: string;
  exited: Promise<TaskExit>;
  exit?: TaskExit;
}

const UNKNOWN_EXIT: TaskExit = { exitCode: null, signal: null };
const key = (h: TaskHandle): string => `${h.id}@${h.container ?? ""}`;

/** The engine is not there at all (no socket, refused, not allowed): say so plainly. */
function engineError(what: string, err: unknown): DockerError {
  let socketError: unknown = err;
  while (socketError instanceof DockerError) socketError = socketError.cause;
  const code = (socketError as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES")
    return new DockerError(
      `this node has no Docker engine (runtime docker): ${engineMessage(socketError)}`,
      "docker_unavailable",
      503,
      err,
    );
  return err instanceof DockerError
    ? err
    : new DockerError(`${what}: ${engineMessage(err)}`, "docker_error", 502, err);
}

/**
 * The `docker` driver: each instance is a container, labelled with its instance id and found
 * again by that label alone (docs/containers.md, "The docker runtime"). The engine keeps the
 * container's output; the driver copies it, as it comes, to the task's log file, so the agent
 * reads a container's output exactly as a process's.
 */
export class DockerDriver implements Driver {
  readonly name = "docker";
  private readonly engine: Docker;
  private readonly tasks = new Map<string, Tracked>();
  private readonly opts: DockerDriverOptions;

  constructor(opts: DockerDriverOptions = {}) {
    this.opts = opts;
    this.engine = opts.engine ?? dockerEngine();
  }

  async start(spec: TaskSpec): Promise<TaskHandle> {
    const base = spec.image === undefined;
    if (base && !existsSync(spec.cwd))
      throw new DockerError(`the app directory ${spec.cwd} does not exist`, "docker_error", 400);
    let ref: string;
    let user: string;
    try {
      ref = base ? await (this.opts.baseImage ?? ensureBaseImage)(this.engine) : spec.image!;
      if (!base) {
        const host = registryHost(ref);
        ref = await ensureImage(
          this.engine,
          ref,
          host === undefined ? undefined : this.opts.registryAuth?.(host),
        );
      }
      user = (await this.engine.getImage(ref).inspect()).Config?.User ?? "";
      await this.removeLeftovers(spec.id);
    } catch (err) {
      throw engineError(`cannot prepare ${spec.image ?? "the base image"}`, err);
    }
    closeSync(openSync(spec.logFile, "a", 0o640)); // there from the start, as for a process
    const opts = containerOptions(spec, { ref, user, base });
    opts.Labels = { ...opts.Labels, [LOGFILE_LABEL]: spec.logFile };
    let container: Docker.Container;
    try {
      container = await this.engine.createContainer(opts);
    } catch (err) {
      throw engineError("cannot create the container", err);
    }
    let pid: number;
    try {
      await container.start();
      pid = (await container.inspect()).State.Pid;
    } catch (err) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      throw engineError("cannot start the container", err);
    }
    const handle: TaskHandle = {
      driver: this.name,
      id: spec.id,
      pid,
      startedAt: new Date().toISOString(),
      container: container.id,
    };
    this.track(handle, spec.logFile);
    return handle;
  }

  async recover(handle: TaskHandle): Promise<boolean> {
    const known = this.tasks.get(key(handle));
    if (known !== undefined) return known.exit === undefined;
    let adopted = false;
    for (const c of await this.labelled(handle.id)) {
      if (c.Id === handle.container && c.State === "running") {
        if (!(await this.adopt(handle))) continue;
        adopted = true;
      } else if (c.State !== "running") {
        await this.finish(c.Id, c.Labels[LOGFILE_LABEL]);
      }
    }
    return adopted;
  }

  async wait(handle: TaskHandle): Promise<TaskExit> {
    const t = await this.tracked(handle);
    return t === undefined ? UNKNOWN_EXIT : t.exited;
  }

  async inspect(handle: TaskHandle): Promise<TaskState> {
    const t = await this.tracked(handle);
    if (t === undefined) return { running: false };
    if (t.exit !== undefined) return { running: false, exit: t.exit };
    try {
      const s = (await this.engine.getContainer(t.container).inspect()).State;
      return s.Running ? { running: true, pid: s.Pid } : { running: false };
    } catch {
      return { running: false };
    }
  }

  async stop(handle: TaskHandle, graceMs: number): Promise<TaskExit> {
    const t = await this.tracked(handle);
    if (t === undefined) return UNKNOWN_EXIT; // not ours (or long gone): touch nothing
    if (t.exit !== undefined) return t.exit;
    const c = this.engine.getContainer(t.container);
    // Signals, not the engine's stop: its timeout is in whole seconds, grace is in ms.
    await c.kill({ signal: "SIGTERM" }).catch(() => undefined);
    const ended = await Promise.race([t.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!ended) await c.kill({ signal: "SIGKILL" }).catch(() => undefined);
    return t.exited;
  }

  /** A task this driver started or adopted; an unknown handle is adopted only if provably ours. */
  private async tracked(handle: TaskHandle): Promise<Tracked | undefined> {
    const t = this.tasks.get(key(handle));
    if (t !== undefined) return t;
    return (await this.adopt(handle)) ? this.tasks.get(key(handle)) : undefined;
  }

  /** Track the running container of `handle` if it is provably that instance's, with that pid. */
  private async adopt(handle: TaskHandle): Promise<boolean> {
    if (handle.container === undefined) return false;
    try {
      const info = await this.engine.getContainer(handle.container).inspect();
      const labels = info.Config.Labels ?? {};
      if (
        labels[INSTANCE_LABEL] !== handle.id ||
        !info.State.Running ||
        info.State.Pid !== handle.pid
      )
        return false;
      const logFile = labels[LOGFILE_LABEL];
      if (logFile === undefined) return false;
      if (!this.tasks.has(key(handle))) this.track(handle, logFile);
      return true;
    } catch {
      return false;
    }
  }

  private track(handle: TaskHandle, logFile: string): void {
    const container = handle.container!;
    const t: Tracked = {
      container,
      exited: this.follow(container, logFile).then((exit) => (t.exit = exit)),
    };
    this.tasks.set(key(handle), t);
  }

  /** Copy the output until the container ends; then its exit, and the container is removed. */
  private async follow(container: string, logFile: string): Promise<TaskExit> {
    for (;;) {
      await copyLogs(this.engine, container, logFile).catch(() => undefined);
      let state: Docker.ContainerInspectInfo["State"];
      try {
        state = (await this.engine.getContainer(container).inspect()).State;
      } catch (err) {
        if (engineStatus(err) === 404) return UNKNOWN_EXIT;
        await sleep(500); // the engine is away for a moment: look again
        continue;
      }
      if (state.Running) {
        // The stream can end just before the engine marks the container stopped, or when
        // the engine restarts: follow again from the cursor (nothing repeats).
        await sleep(50);
        continue;
      }
      await this.remove(container);
      return state.OOMKilled
        ? { exitCode: null, signal: "SIGKILL" }
        : exitFromStatus(state.ExitCode);
    }
  }

  /** An ended container: copy what output is left, then remove it. */
  private async finish(container: string, logFile: string | undefined): Promise<void> {
    if (logFile !== undefined)
      await copyLogs(this.engine, container, logFile).catch(() => undefined);
    await this.remove(container);
  }

  private async remove(container: string): Promise<void> {
    await this.engine
      .getContainer(container)
      .remove({ v: true, force: true })
      .catch(() => undefined); // already gone, or being removed by another caller
  }

  private async labelled(id: string): Promise<Docker.ContainerInfo[]> {
    return this.engine.listContainers({
      all: true,
      filters: { label: [`${INSTANCE_LABEL}=${id}`] },
    });
  }

  /**
   * Before an instance starts again: its earlier containers this driver does not track (an
   * agent that died between starting one and saving it) are ended and removed — one instance
   * never runs twice.
   */
  private async removeLeftovers(id: string): Promise<void> {
    const ours = new Set([...this.tasks.values()].map((t) => t.container));
    for (const c of await this.labelled(id)) {
      if (ours.has(c.Id)) continue;
      if (c.State === "running")
        await this.engine
          .getContainer(c.Id)
          .kill({ signal: "SIGKILL" })
          .catch(() => undefined);
      await this.finish(c.Id, c.Labels[LOGFILE_LABEL]);
    }
  }
}
