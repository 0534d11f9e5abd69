import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ApiError } from "../../client/errors.js";
import { exitCode, type Driver, type TaskExit, type TaskHandle } from "../../drivers/driver.js";
import type { Assignment, InstanceStatus } from "../../model/app.js";
import type { RegistrationInput } from "../../client/catalog.js";
import { nextCrashCount, restartDelay } from "./backoff.js";
import { instanceEnv, taskSpec } from "./env.js";
import { instanceStatus } from "./instance-status.js";
import { LAST_LINES, OutputTail } from "./logs.js";
import { webRegistration } from "./reporter.js";
import { portMovedText } from "./port-moves.js";
import type { SavedInstance } from "./state.js";
import { ArtifactRefusedError, ensureUnpacked } from "./unpack.js";
import { sleep, Waker } from "./waker.js";
import { specOf, type InstanceContext, type State } from "./instance-context.js";

export type { InstanceContext } from "./instance-context.js";

/**
 * One supervised instance: prepares its directory (artifact unpacked, env fetched, port picked),
 * runs it through the driver, restarts it after a crash with backoff, tails its output. Its loop
 * only needs the server to prepare a (re)start; a running process needs nothing from it.
 */
export class Instance {
  assignment: Assignment;
  handle: TaskHandle | undefined;
  port: number | undefined;
  restarts: number;
  state: State = "starting";
  exitCode: number | null | undefined;
  lastOutput: string[] = [];
  startedAt: string | undefined;
  /** Its port was taken by another program and it moved (shown until it runs). */
  portMoved: { from: number; to: number; at: string } | undefined;
  /** A one-off that ended: it never runs again. */
  finished: { exitCode: number | null } | undefined;
  private refused: string | undefined;
  private crashes = 0;
  /** Port moves since it last stayed up (port-moves.ts). */
  private movesInARow = 0;
  private restartAt = 0;
  private env: Record<string, string> | undefined;
  private unpacked = false;
  private respec = false;
  private closing = false;
  private readonly abort = new AbortController();
  private readonly waker = new Waker();
  private readonly tail: OutputTail;
  private runningTimer: ReturnType<typeof setTimeout> | undefined;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    saved: SavedInstance,
    private readonly ctx: InstanceContext,
  ) {
    this.assignment = saved.assignment;
    this.handle = saved.handle;
    this.port = saved.port;
    this.restarts = saved.restarts;
    if (saved.exited !== undefined) {
      this.finished = saved.exited;
      this.exitCode = saved.exited.exitCode;
      this.state = "exited";
    } else if (saved.handle !== undefined) {
      this.state = "running";
      this.startedAt = saved.handle.startedAt;
    }
    mkdirSync(ctx.dir, { recursive: true, mode: 0o755 });
    this.tail = new OutputTail(this.logFile, {
      offset: saved.logOffset,
      onLine: (line) => ctx.shipper.push(this.assignment.app, this.source, line),
    });
  }

  get id(): string {
    return this.assignment.id;
  }

  /** How its output is tagged: `web.1`, `worker.2`; one-offs `run.<n>`, `test.<n>`, `cron.<n>`… */
  get source(): string {
    const a = this.assignment;
    return `${a.processType}.${a.index}`;
  }

  get logFile(): string {
    return join(this.ctx.dir, "output.log");
  }

  start(): void {
    this.tail.start();
    this.loopDone = this.loop().catch((err: unknown) => {
      this.ctx.log(`agent: instance ${this.id} stopped supervising after an error: ${String(err)}`);
    });
  }

  /** A new version of its assignment (desired state, or a different process altogether). */
  update(a: Assignment): void {
    if (specOf(a) !== specOf(this.assignment)) this.respec = true;
    const changed = JSON.stringify(a) !== JSON.stringify(this.assignment);
    this.assignment = a;
    if (changed) {
      this.ctx.changed(this);
      this.waker.kick();
    }
  }

  /**
   * Stop supervising. With `stopProcess` the process is stopped too (SIGTERM, then SIGKILL after
   * the grace period); without, it keeps running for the next agent to adopt.
   */
  async close(stopProcess: boolean): Promise<void> {
    this.closing = true;
    this.abort.abort();
    this.waker.kick();
    await this.loopDone;
    if (stopProcess) await this.stopProcess();
    this.tail.stop();
    await this.tail.drain();
    clearTimeout(this.runningTimer);
  }

  /** What the agent keeps in state.json. */
  saved(): SavedInstance {
    return {
      assignment: this.assignment,
      ...(this.handle === undefined ? {} : { handle: this.handle }),
      ...(this.port === undefined ? {} : { port: this.port }),
      restarts: this.restarts,
      logOffset: this.tail.offset,
      ...(this.finished === undefined ? {} : { exited: this.finished }),
    };
  }

  status(): InstanceStatus {
    return instanceStatus({
      assignment: this.assignment,
      node: this.ctx.node,
      address: this.ctx.address,
      state: this.state,
      handle: this.handle,
      port: this.port,
      restarts: this.restarts,
      exitCode: this.exitCode,
      lastOutput: this.lastOutput,
      startedAt: this.startedAt,
      portMoved: this.portMoved,
      restartAt: this.restartAt > 0 && this.restartable() ? this.restartAt : undefined,
    });
  }

  /** Whether the loop will start it again by itself (not refused, finished or stopped). */
  private restartable(): boolean {
    return (
      this.refused === undefined &&
      this.finished === undefined &&
      this.assignment.desired !== "stopped"
    );
  }

  /** Its catalog entry, while it should get traffic: a running web instance not draining. */
  registration(): RegistrationInput | undefined {
    if (this.port === undefined || this.refused !== undefined) return undefined;
    return webRegistration(this.assignment, {
      node: this.ctx.node,
      address: this.ctx.address,
      port: this.port,
      source: this.source,
    });
  }

  private setState(state: State, fields: Partial<Pick<Instance, "exitCode">> = {}): void {
    this.state = state;
    if ("exitCode" in fields) this.exitCode = fields.exitCode;
    this.ctx.changed(this);
  }

  private async loop(): Promise<void> {
    while (!this.closing) {
      const woke = this.waker.next();
      if (this.respec) {
        await this.stopProcess();
        this.respec = false;
        this.unpacked = false;
        this.env = undefined;
        this.crashes = 0;
        this.finished = undefined;
        this.refused = undefined;
        continue;
      }
      if (this.assignment.desired === "stopped") {
        if (this.handle !== undefined) await this.stopProcess();
        else if (this.state !== "stopped" && this.finished === undefined) this.setState("stopped");
        await sleep(woke);
        continue;
      }
      if (this.finished !== undefined || this.refused !== undefined) {
        await sleep(woke);
        continue;
      }
      const handle = this.handle;
      if (handle === undefined) {
        const wait = this.restartAt - Date.now();
        if (wait > 0) await sleep(woke, wait);
        else await this.launch();
        continue;
      }
      const exit = await Promise.race([
        this.driverOf(handle).wait(handle),
        woke.then(() => undefined),
      ]);
      if (exit !== undefined && !this.closing && this.handle === handle)
        await this.exited(handle, exit);
    }
  }

  /** Get everything ready and start the process; a failure is retried with backoff. */
  private async launch(): Promise<void> {
    const a = this.assignment;
    const signal = this.abort.signal;
    try {
      await this.prepare(signal);
    } catch (err) {
      if (this.closing) return;
      if (err instanceof ArtifactRefusedError) {
        this.refused = err.message;
        this.lastOutput = [`gantry: the artifact was refused: ${err.message}`];
        this.ctx.log(
          `agent: ${a.id}: artifact ${(a.artifact ?? a.image ?? "?").slice(0, 12)} refused: ${err.message}`,
        );
        this.setState("crashed", { exitCode: null });
        return;
      }
      // The server is away, or the assignment went (its env is 404): try again later; the
      // assignment watch removes an instance that is gone.
      const gone = err instanceof ApiError && err.status === 404;
      this.crashes = gone ? this.crashes : this.crashes + 1;
      this.restartAt = Date.now() + (gone ? 2000 : restartDelay(this.crashes, this.ctx.backoff));
      const why = `gantry: cannot prepare the instance yet: ${err instanceof Error ? err.message : String(err)}`;
      if (this.lastOutput.at(-1) !== why) {
        this.lastOutput = [...this.lastOutput, why].slice(-LAST_LINES);
        this.ctx.changed(this);
      }
      return;
    }
    if (this.closing || this.respec) return;
    let handle: TaskHandle;
    try {
      handle = await this.ctx.drivers.for(a).start(
        taskSpec({
          assignment: a,
          dir: this.ctx.dir,
          env: instanceEnv({
            baseEnv: this.ctx.baseEnv,
            dir: this.ctx.dir,
            config: this.env,
            port: this.port,
            assignment: a,
            source: this.source,
          }),
          baseEnv: this.ctx.baseEnv,
          logFile: this.logFile,
          source: this.source,
        }),
      );
    } catch (err) {
      this.crashes++;
      this.restartAt = Date.now() + restartDelay(this.crashes, this.ctx.backoff);
      this.lastOutput = [
        `gantry: cannot start: ${err instanceof Error ? err.message : String(err)}`,
      ];
      this.setState("crashed", { exitCode: null });
      return;
    }
    this.handle = handle;
    this.startedAt = handle.startedAt;
    this.setState("starting", { exitCode: undefined });
    clearTimeout(this.runningTimer);
    this.runningTimer = setTimeout(() => {
      if (this.handle !== handle || this.state !== "starting") return;
      this.movesInARow = 0;
      this.setState("running");
    }, this.ctx.runningAfterMs);
    this.runningTimer.unref();
  }

  private async prepare(signal: AbortSignal): Promise<void> {
    const a = this.assignment;
    if (!this.unpacked && a.artifact !== undefined) {
      await ensureUnpacked(this.ctx.dir, a.artifact, this.ctx.artifacts, signal);
      this.unpacked = true;
    }
    this.env ??= await this.ctx.work.env(this.ctx.node, a.id, signal);
    if (this.port === undefined) {
      this.port = await this.ctx.ports.take(this.id);
      this.ctx.changed(this);
    }
  }

  private async exited(handle: TaskHandle, exit: TaskExit): Promise<void> {
    const a = this.assignment;
    this.handle = undefined;
    clearTimeout(this.runningTimer);
    await this.tail.drain();
    this.lastOutput = this.tail.lastLines();
    const code = exitCode(exit);
    if (a.kind === "oneoff") {
      // Its output first: `gantry run` stops following the logs once it sees the exit.
      await this.ctx.shipper.sendNow(2000);
      this.finished = { exitCode: code };
      this.setState("exited", { exitCode: code });
      return;
    }
    const uptime = Date.now() - Date.parse(handle.startedAt);
    if (await this.movePortIfTaken(uptime)) return;
    this.crashes = nextCrashCount(this.crashes, uptime, this.ctx.backoff);
    this.restarts++;
    const delay = restartDelay(this.crashes, this.ctx.backoff);
    this.restartAt = Date.now() + delay;
    this.ctx.log(
      `agent: ${a.id} (${a.app} ${this.source}) exited with ${exit.signal ?? `code ${code ?? "unknown"}`} after ${Math.round(uptime / 100) / 10}s; restarting in ${delay / 1000}s`,
    );
    this.setState("crashed", { exitCode: code });
  }

  /**
   * Its port was taken by another program (it could not bind it): not a crash of the app. It
   * gets a new port and starts again at once; no crash, no restart is counted (issue 19).
   */
  private async movePortIfTaken(uptimeMs: number): Promise<boolean> {
    const from = this.port;
    if (from === undefined || this.assignment.kind === "oneoff") return false;
    const to = await this.ctx.ports.moveIfTaken(this.id, {
      port: from,
      uptimeMs,
      lastLines: this.lastOutput,
      movesInARow: this.movesInARow,
    });
    if (to === undefined) return false;
    const a = this.assignment;
    const what = portMovedText(from, to);
    const line = `gantry: ${what}`;
    this.port = to;
    this.portMoved = { from, to, at: new Date().toISOString() };
    this.movesInARow++;
    this.restartAt = 0;
    this.lastOutput = [...this.lastOutput, line].slice(-LAST_LINES);
    this.ctx.shipper.push(a.app, this.source, line);
    this.ctx.log(`agent: ${a.id} (${a.app} ${this.source}): ${what}; starting it again`);
    this.setState("starting", { exitCode: undefined });
    return true;
  }

  /** The driver a handle belongs to (the one that started it, by name). */
  private driverOf(handle: TaskHandle): Driver {
    return this.ctx.drivers.named(handle.driver) ?? this.ctx.drivers.for(this.assignment);
  }

  private async stopProcess(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) return;
    clearTimeout(this.runningTimer);
    const exit = await this.driverOf(handle).stop(handle, this.ctx.stopGraceMs);
    this.handle = undefined;
    await this.tail.drain();
    this.lastOutput = this.tail.lastLines();
    this.setState("stopped", { exitCode: exitCode(exit) });
  }
}
