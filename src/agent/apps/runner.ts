import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { AgentWorkClient } from "../../client/agent-work.js";
import { CatalogClient } from "../../client/catalog.js";
import { ApiError } from "../../client/errors.js";
import { DockerDriver } from "../../drivers/docker/index.js";
import type { TaskHandle } from "../../drivers/driver.js";
import { webServiceName, type Assignment } from "../../model/app.js";
import { ArtifactCache } from "./artifacts.js";
import { DEFAULT_BACKOFF } from "./backoff.js";
import { Instance, type InstanceContext } from "./instance.js";
import { Drivers } from "./drivers.js";
import { defaultBaseEnv } from "./env.js";
import { LogShipper } from "./logs.js";
import { PortAllocator } from "./port-allocator.js";
import { choosePortRange, readEphemeralPorts } from "./port-range.js";
import { PortPool } from "./ports.js";
import { Reporter } from "./reporter.js";
import { loadState, saveState, type SavedInstance } from "./state.js";
import { sleep, Waker } from "./waker.js";
import { REMEMBERED_RELEASES, startPort, type InstanceRunnerOptions } from "./runner-options.js";

export type { InstanceRunnerOptions } from "./runner-options.js";

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Runs this node's assignments (docs/apps.md, "Agent"). Statically stable: the instances run
 * whether or not the server answers; the server is needed only to learn about changes, to
 * fetch what a (re)start needs, and to hear what happened. After an outage it reconciles from
 * the current assignments — an instance is keyed by its assignment id, so nothing is started
 * twice. A new agent process adopts the instances an earlier one left running (state.json).
 */
export class InstanceRunner {
  private readonly nodeName: string;
  private readonly work: AgentWorkClient;
  private readonly catalog: CatalogClient;
  private readonly drivers: Drivers;
  private readonly log: (line: string) => void;
  private readonly artifacts: ArtifactCache;
  private readonly shipper: LogShipper;
  private readonly stateFile: string;
  private readonly ports: PortPool;
  private readonly instances = new Map<string, Instance>();
  private readonly removing = new Map<string, Promise<void>>();
  private readonly reporter: Reporter;
  private readonly abort = new AbortController();
  /** Resolves when stop() begins: sleeps end at once. */
  private readonly stopSignal = new Promise<void>((resolve) =>
    this.abort.signal.addEventListener("abort", () => resolve()),
  );
  private readonly waker = new Waker();
  private lastAssignments: Assignment[] | undefined;
  private loops: Promise<void>[] = [];
  private ready: Promise<void> = Promise.resolve();
  private lastSave = 0;
  private lastSaved = "";
  private readonly opts: InstanceRunnerOptions;

  constructor(opts: InstanceRunnerOptions) {
    this.opts = opts;
    this.nodeName = opts.nodeName;
    this.work = new AgentWorkClient(opts.client);
    this.catalog = new CatalogClient(opts.client);
    const token = opts.registryToken;
    this.drivers = new Drivers({
      ...(opts.driver === undefined ? {} : { process: opts.driver }),
      docker:
        opts.dockerDriver ??
        (() =>
          new DockerDriver(
            token === undefined
              ? {}
              : {
                  registryAuth: (host) => ({
                    username: "gantry",
                    password: token,
                    serveraddress: host,
                  }),
                },
          )),
    });
    this.log = opts.log ?? ((line) => process.stderr.write(line + "\n"));
    this.artifacts = new ArtifactCache(join(opts.dataDir, "artifacts"), (sha, signal) =>
      this.work.artifact(sha, signal),
    );
    this.shipper = new LogShipper({
      send: (app, lines, signal) => this.work.shipLogs(app, lines, signal),
      log: this.log,
      ...(opts.maxQueuedLogLines === undefined ? {} : { maxQueued: opts.maxQueuedLogLines }),
      ...(opts.logFlushMs === undefined ? {} : { flushMs: opts.logFlushMs }),
    });
    this.stateFile = join(opts.dataDir, "state.json");
    this.reporter = new Reporter({
      work: this.work,
      catalog: this.catalog,
      log: this.log,
      signal: this.abort.signal,
      instances: this.instances,
      removing: this.removing,
    });
    const { range, note } = choosePortRange(opts.portRange, readEphemeralPorts());
    if (note !== undefined) this.log(`agent: ${note}`);
    this.ports = new PortPool(
      new PortAllocator(range, { startAt: startPort(opts.dataDir, range) }),
    );
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  start(): void {
    mkdirSync(join(this.opts.dataDir, "instances"), { recursive: true, mode: 0o700 });
    this.ready = this.adoptAll();
    this.shipper.start();
    this.loops = [this.watch(), this.tick()];
  }

  /** The instances it supervises now (for tests and status output). */
  list(): Instance[] {
    return [...this.instances.values()];
  }

  /**
   * Stop supervising. `stopInstances`: stop every instance too (the platform is going away);
   * otherwise they keep running and the next agent process adopts them.
   */
  async stop(opts: { stopInstances?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.abort.abort();
    this.waker.kick();
    await Promise.all(this.loops);
    await Promise.all(this.removing.values());
    const all = [...this.instances.values()];
    if (opts.stopInstances) {
      await Promise.all(
        all.map(async (inst) => {
          if (inst.registration() !== undefined)
            await this.catalog
              .deregister(webServiceName(inst.assignment.app), inst.id)
              .catch(() => undefined);
          await inst.close(true);
        }),
      );
    } else {
      await Promise.all(all.map((inst) => inst.close(false)));
    }
    this.persist();
    await this.shipper.stop(1000);
  }

  private context(id: string): InstanceContext {
    return {
      node: this.nodeName,
      drivers: this.drivers,
      work: this.work,
      artifacts: this.artifacts,
      shipper: this.shipper,
      dir: join(this.opts.dataDir, "instances", id),
      address: this.opts.address ?? "127.0.0.1",
      baseEnv: this.opts.baseEnv ?? defaultBaseEnv(),
      stopGraceMs: this.opts.stopGraceMs ?? 10_000,
      backoff: { ...DEFAULT_BACKOFF, ...this.opts.backoff },
      runningAfterMs: this.opts.runningAfterMs ?? 1000,
      ports: this.ports,
      changed: (inst) => this.changed(inst),
      log: this.log,
    };
  }

  private changed(inst: Instance): void {
    if (!this.instances.has(inst.id)) return;
    this.reporter.dirty.add(inst.id);
    this.persist();
    this.waker.kick();
  }

  /**
   * Take over what state.json names: adopt what still runs, restart the rest. Their ports stay
   * theirs; one that restarts keeps its port if it lies in the agent's range.
   */
  private async adoptAll(): Promise<void> {
    const state = loadState(this.stateFile, this.nodeName, this.log);
    const range = this.ports.allocator.range;
    const adopted: SavedInstance[] = [];
    for (const saved of state.instances) {
      let s: SavedInstance = saved;
      const id = s.assignment.id;
      if (s.handle !== undefined) {
        if (await this.recover(s.handle)) {
          this.log(`agent: adopted ${id} (pid ${s.handle.pid})`);
        } else {
          this.log(`agent: ${id} (pid ${s.handle.pid}) no longer runs; starting it again`);
          const { handle: _gone, ...rest } = s;
          s = rest;
        }
      }
      const port = s.port;
      const keep =
        port !== undefined &&
        (s.handle !== undefined || (port >= range.first && port <= range.last)) &&
        this.ports.hold(port, id);
      if (port !== undefined && !keep) {
        const { port: _other, ...rest } = s;
        s = rest;
      }
      adopted.push(s);
    }
    this.ports.allocator.requeue(state.releasedPorts);
    // Every adopted port is held before any instance can ask for a new one.
    for (const s of adopted) this.add(s);
    this.persist();
  }

  /** Whether the task of a saved handle still runs and is adopted by its driver. */
  private async recover(handle: TaskHandle): Promise<boolean> {
    const driver = this.drivers.named(handle.driver);
    if (driver === undefined) {
      this.log(`agent: ${handle.id} ran on driver ${handle.driver}, which this agent lacks`);
      return false;
    }
    try {
      return await driver.recover(handle);
    } catch (err) {
      this.log(`agent: cannot look for ${handle.id} (${handle.driver}): ${message(err)}`);
      return false;
    }
  }

  private add(saved: SavedInstance): void {
    const inst = new Instance(saved, this.context(saved.assignment.id));
    this.instances.set(inst.id, inst);
    this.reporter.dirty.add(inst.id);
    inst.start();
  }

  /** Follow the assignments with blocking reads; everything keeps running while it fails. */
  private async watch(): Promise<void> {
    await this.ready;
    let index: number | undefined;
    let failures = 0;
    while (!this.stopped) {
      try {
        const res = await this.work.assignments(this.nodeName, {
          ...(index === undefined ? {} : { index }),
          wait: this.opts.wait ?? "30s",
          signal: this.abort.signal,
        });
        if (failures > 0) {
          this.log("agent: the control plane answers again; reconciling instances");
          this.resync();
        }
        failures = 0;
        index = res.index;
        this.apply(res.value);
      } catch (err) {
        if (this.stopped) return;
        if (failures++ === 0)
          this.log(`agent: cannot read assignments (${message(err)}); instances keep running`);
        await sleep(this.stopSignal, Math.min(5000, 200 * failures));
      }
    }
  }

  /** After an outage: tell the server everything again, and re-check every catalog entry. */
  private resync(): void {
    for (const id of this.instances.keys()) this.reporter.dirty.add(id);
    this.reporter.registered.clear();
    this.waker.kick();
  }

  /** Make the instances match the assignments. */
  private apply(list: Assignment[]): void {
    if (this.stopped) return;
    this.lastAssignments = list;
    const want = new Map(list.filter((a) => a.node === this.nodeName).map((a) => [a.id, a]));
    for (const a of want.values()) {
      if (this.removing.has(a.id)) continue; // applied again once the old one is gone
      const inst = this.instances.get(a.id);
      if (inst !== undefined) inst.update(a);
      else this.add({ assignment: a, restarts: 0, logOffset: this.existingLogSize(a.id) });
    }
    for (const inst of this.instances.values())
      if (!want.has(inst.id) && !this.removing.has(inst.id)) this.remove(inst);
    this.persist();
    this.artifacts.prune(
      new Set([...this.instances.values()].flatMap((i) => i.assignment.artifact ?? [])),
    );
    this.waker.kick();
  }

  /** Output an earlier instance with this id left is not shipped again. */
  private existingLogSize(id: string): number {
    const file = join(this.opts.dataDir, "instances", id, "output.log");
    return existsSync(file) ? statSync(file).size : 0;
  }

  /** The assignment is gone: out of the catalog, stop, remove its directory and record. */
  private remove(inst: Instance): void {
    const id = inst.id;
    const done = (async () => {
      if (inst.assignment.processType === "web")
        await this.catalog
          .deregister(webServiceName(inst.assignment.app), id)
          .catch((err: unknown) => {
            if (!(err instanceof ApiError && err.status === 404))
              this.log(`agent: cannot deregister ${id}: ${message(err)}`);
          });
      this.reporter.registered.delete(id);
      await inst.close(true);
      // Its process has fully stopped: the port may serve another instance (last in line).
      if (inst.port !== undefined) this.ports.release(inst.port, id);
      this.instances.delete(id);
      this.reporter.dirty.delete(id);
      rmSync(join(this.opts.dataDir, "instances", id), { recursive: true, force: true });
      // A one-off's record stays: `ps` shows its exit code after its assignment is gone.
      if (inst.assignment.kind !== "oneoff") this.reporter.recordsToDelete.add(id);
      this.log(`agent: removed ${id} (${inst.assignment.app} ${inst.source})`);
      this.persist();
    })()
      .catch((err: unknown) => this.log(`agent: removing ${id}: ${message(err)}`))
      .finally(() => {
        this.removing.delete(id);
        if (this.lastAssignments !== undefined && !this.stopped) this.apply(this.lastAssignments);
      });
    this.removing.set(id, done);
  }

  private persist(): void {
    this.lastSave = Date.now();
    const state = {
      instances: [...this.instances.values()].map((i) => i.saved()),
      releasedPorts: this.ports.allocator.recentlyReleased(REMEMBERED_RELEASES),
    };
    const json = JSON.stringify(state);
    if (json === this.lastSaved) return;
    try {
      saveState(this.stateFile, this.nodeName, state);
      this.lastSaved = json;
    } catch (err) {
      this.log(`agent: cannot write ${this.stateFile}: ${message(err)}`);
    }
  }

  /** Report statuses, keep the catalog in step, delete records; at least every tickMs. */
  private async tick(): Promise<void> {
    await this.ready;
    while (!this.stopped) {
      const woke = this.waker.next();
      await this.reporter.pass();
      if (Date.now() - this.lastSave > 5000) this.persist(); // log offsets move on their own
      await sleep(woke, this.opts.tickMs ?? 1000);
    }
  }
}
