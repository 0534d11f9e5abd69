import { fork, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { FromWorker, ToWorker } from "./messages.js";
import type { RouteSnapshot } from "./source.js";
import type { EdgeLimits } from "./limits.js";
import type { ChallengeLookup } from "./acme-challenge.js";
import type { UpstreamTuning } from "./proxy.js";

/** Worker processes are started from source under tsx (tests, benches) or from dist/. */
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const ENTRY = fileURLToPath(new URL(FROM_SOURCE ? "./worker.ts" : "./worker.js", import.meta.url));
const READY_TIMEOUT_MS = 15_000;
const RESPAWN_DELAY_MS = 1000;

/** tsx's loader by absolute URL: `--import tsx` would resolve from the working directory. */
const tsxLoader = (): string => pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

interface Slot {
  child: ChildProcess;
  ready: boolean;
}

/**
 * Router worker processes: the primary accepts connections (paused, unread) and hands each to the
 * next ready worker, round-robin, like node:cluster's default scheduling — but without cluster's
 * process-global state, and with the routing table sent to every worker over IPC. A worker that
 * dies is replaced; while none is ready, the caller serves connections itself.
 */
export class RouterWorkers {
  private readonly slots: Slot[] = [];
  private next = 0;
  private closing = false;
  private snapshot: RouteSnapshot = { apps: [] };

  constructor(
    private readonly count: number,
    private readonly domain: string,
    private readonly log: (line: string) => void,
    private readonly limits: Partial<EdgeLimits> = {},
    private readonly challenges?: ChallengeLookup,
    private readonly upstream: Partial<UpstreamTuning> = {},
  ) {}

  /** Start every worker and wait until each is ready. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.count }, () => this.spawn()));
  }

  private spawn(): Promise<void> {
    const child = fork(ENTRY, [], {
      execArgv: FROM_SOURCE ? ["--import", tsxLoader()] : [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const slot: Slot = { child, ready: false };
    this.slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`a router worker did not start within ${READY_TIMEOUT_MS / 1000} s`));
      }, READY_TIMEOUT_MS);
      child.on("message", (msg: FromWorker) => {
        if (msg.type === "log") this.log(msg.line);
        else if (msg.type === "challenge") void this.answer(slot, msg.id, msg.token);
        else if (msg.type === "ready") {
          clearTimeout(timer);
          this.send(slot, { type: "routes", snapshot: this.snapshot });
          slot.ready = true;
          resolve();
        }
      });
      child.on("error", (err) => this.log(`router: worker ${child.pid}: ${err.message}`));
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        slot.ready = false;
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
        if (this.closing) return;
        reject(new Error(`a router worker exited (${signal ?? code}) while starting`));
        this.log(`router: worker ${child.pid} exited (${signal ?? code}); starting another`);
        setTimeout(() => {
          if (!this.closing) this.spawn().catch((err: Error) => this.log(`router: ${err.message}`));
        }, RESPAWN_DELAY_MS).unref();
      });
      this.send(slot, {
        type: "init",
        domain: this.domain,
        limits: this.limits,
        challenges: this.challenges !== undefined,
        upstream: this.upstream,
      });
    });
  }

  /** A worker asks for an ACME challenge's key authorization: the primary looks it up. */
  private async answer(slot: Slot, id: number, token: string): Promise<void> {
    const keyAuth = await this.challenges?.(token).catch(() => undefined);
    this.send(slot, { type: "challenge", id, keyAuth });
  }

  private send(
    slot: Slot,
    msg: ToWorker,
    handle?: Socket,
    done?: (err: Error | null) => void,
  ): void {
    if (!slot.child.connected) {
      done?.(new Error("worker gone"));
      return;
    }
    if (handle === undefined) slot.child.send(msg, (err) => done?.(err));
    else slot.child.send(msg, handle, { keepOpen: false }, (err) => done?.(err));
  }

  /** Send the table to every worker (and to those started later). */
  setRoutes(snapshot: RouteSnapshot): void {
    this.snapshot = snapshot;
    for (const slot of this.slots) if (slot.ready) this.send(slot, { type: "routes", snapshot });
  }

  /**
   * Hand a paused client socket to a worker. Returns false when no worker is ready (the caller
   * serves it); `fallback` is called if the hand-over fails after all.
   */
  dispatch(socket: Socket, fallback: (socket: Socket) => void): boolean {
    const n = this.slots.length;
    for (let i = 0; i < n; i++) {
      const slot = this.slots[this.next++ % n]!;
      if (!slot.ready || !slot.child.connected) continue;
      this.send(slot, { type: "conn" }, socket, (err) => {
        if (err !== null && !socket.destroyed) fallback(socket);
      });
      return true;
    }
    return false;
  }

  /** Stop every worker (they drop their connections). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (slot.child.exitCode !== null || slot.child.signalCode !== null) return resolve();
            const kill = setTimeout(() => slot.child.kill("SIGKILL"), 2000);
            slot.child.once("exit", () => {
              clearTimeout(kill);
              resolve();
            });
            if (slot.child.connected) this.send(slot, { type: "stop" });
            else slot.child.kill("SIGTERM");
          }),
      ),
    );
    this.slots.length = 0;
  }
}
