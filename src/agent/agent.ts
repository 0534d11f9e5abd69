import { CatalogClient } from "../client/catalog.js";
import type { GantryClient } from "../client/client.js";
import { ApiError } from "../client/errors.js";
import { deregistrationDue } from "../catalog/deregister.js";
import { formatDuration } from "../model/duration.js";
import { NODE_TTL, type NodeFacts } from "../model/node.js";
import type { CheckView, NodeInstanceView, StoredCheck } from "../model/service.js";
import type { PortRange } from "./apps/port-range.js";
import { InstanceRunner, type InstanceRunnerOptions } from "./apps/runner.js";
import { ConvergeAgent } from "./converge/agent.js";
import { gatherFacts } from "./facts.js";
import { realProbes, type ActiveCheck, type Probes } from "./probes/index.js";
import { CheckRunner } from "./runner.js";
import { sleep } from "../sleep.js";

export interface AgentOptions {
  /** The API client, with a token that may write this node and the services on it. */
  client: GantryClient;
  nodeName: string;
  log?: (line: string) => void;
  /** Heartbeat TTL in seconds: a node silent for this long leaves the platform (default 10). */
  ttl?: number;
  /** Run exec checks (default true); when off they report critical. */
  execChecks?: boolean;
  probes?: Probes;
  facts?: () => NodeFacts;
  /** How long one blocking read of the catalog waits (default "30s"). */
  wait?: string;
  /**
   * Run this node's app instances (docs/apps.md), keeping the agent's files here: state.json,
   * instances/<id>/, artifacts/. Without it the agent only runs health checks.
   */
  dataDir?: string;
  /**
   * Where app instances' ports come from. A range given must lie outside the kernel's ephemeral
   * port range: startAgent throws a PortRangeOverlapError when it does not. Without one:
   * 20000-32000, or where that overlaps the ephemeral ports the largest range outside (logged).
   */
  portRange?: PortRange;
  /** Tuning of the instance runner (grace periods, backoff, driver…), mostly for tests. */
  runner?: Partial<Omit<InstanceRunnerOptions, "client" | "nodeName" | "dataDir" | "log">>;
  /** Converge this node's states when they, its roles, or what they read change (default true). */
  converge?: boolean;
}

export interface AgentStopOptions {
  /**
   * Stop the app instances too (SIGTERM, then SIGKILL after the grace period) and leave the
   * platform. Otherwise instances keep running — statically stable — for the next agent process
   * to adopt, and the node stays until its lease runs out.
   */
  stopInstances?: boolean;
}

export interface Agent {
  readonly nodeName: string;
  /** Resolves once the node has joined; rejects if the server refuses it (bad token, bad name). */
  readonly joined: Promise<void>;
  /**
   * Stop the checks and leave the platform. An agent that runs instances leaves them running
   * (and does not leave) unless `stopInstances`.
   */
  stop(opts?: AgentStopOptions): Promise<void>;
}

/**
 * Start a node agent: join the platform as `nodeName` (on a lease kept alive by heartbeats),
 * follow the catalog's instances on this node through blocking reads, run their checks, report
 * results that change, and remove instances critical for longer than their `deregisterAfter`.
 * It talks to the control plane only through the HTTP API, so the agent inside `gantry up` and
 * one on another machine are the same thing.
 */
export function startAgent(opts: AgentOptions): Agent {
  const agent = new NodeAgent(opts);
  agent.start();
  return agent;
}

interface Running {
  runner: CheckRunner;
  fingerprint: string;
}

class NodeAgent implements Agent {
  readonly nodeName: string;
  readonly joined: Promise<void>;
  private resolveJoined!: () => void;
  private rejectJoined!: (err: unknown) => void;
  private readonly catalog: CatalogClient;
  private readonly log: (line: string) => void;
  private readonly ttl: number;
  private readonly probes: Probes;
  private readonly abort = new AbortController();
  private readonly runners = new Map<string, Running>();
  private readonly ttlPending = new Set<string>();
  private readonly deregistering = new Set<string>();
  /** Checks whose last report failed: logged once, not at every run while the server is away. */
  private readonly failingReports = new Set<string>();
  private views: NodeInstanceView[] = [];
  private deregTimer: ReturnType<typeof setTimeout> | undefined;
  private lease: string | undefined;
  private loops: Promise<void>[] = [];
  private readonly runner: InstanceRunner | undefined;
  private converge: ConvergeAgent | undefined;

  constructor(private readonly opts: AgentOptions) {
    this.nodeName = opts.nodeName;
    this.catalog = new CatalogClient(opts.client);
    this.log = opts.log ?? ((line) => process.stderr.write(line + "\n"));
    this.ttl = opts.ttl ?? NODE_TTL.default;
    const probes = opts.probes ?? realProbes;
    this.probes =
      opts.execChecks === false
        ? {
            ...probes,
            exec: async () => ({
              status: "critical",
              output: "exec checks are disabled on this agent",
            }),
          }
        : probes;
    this.joined = new Promise((resolve, reject) => {
      this.resolveJoined = resolve;
      this.rejectJoined = reject;
    });
    this.joined.catch(() => undefined); // callers that never wait must not see an unhandled rejection
    // Made before anything starts: a port range it refuses leaves nothing running.
    this.runner =
      opts.dataDir === undefined
        ? undefined
        : new InstanceRunner({
            ...opts.runner,
            ...(opts.portRange === undefined ? {} : { portRange: opts.portRange }),
            client: opts.client,
            nodeName: this.nodeName,
            dataDir: opts.dataDir,
            log: this.log,
          });
  }

  start(): void {
    this.loops = [this.membership(), this.follow()];
    this.runner?.start();
    if (this.opts.converge !== false) {
      this.converge = new ConvergeAgent({
        client: this.opts.client,
        nodeName: this.nodeName,
        log: this.log,
      });
      this.converge.start();
    }
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Join, then heartbeat at a third of the TTL; join again whenever the lease is gone. */
  private async membership(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.lease === undefined) {
          const facts = (this.opts.facts ?? gatherFacts)();
          const res = await this.catalog.joinNode(this.nodeName, facts, this.ttl);
          this.lease = res.lease;
          this.log(`agent: node ${this.nodeName} joined (lease ${res.lease}, ttl ${res.ttl}s)`);
          this.resolveJoined();
        } else if (!(await this.catalog.heartbeat(this.nodeName, this.lease, this.beatSignal()))) {
          this.log(`agent: node ${this.nodeName} lost its lease; joining again`);
          this.lease = undefined;
          continue;
        }
        failures = 0;
        await sleep((this.ttl * 1000) / 3, this.abort.signal);
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof ApiError && err.status >= 400 && err.status < 500)
          this.rejectJoined(err);
        // Without quorum (503 no_quorum) nothing is lost: the lease waits, instances keep running.
        const noQuorum = err instanceof ApiError && err.code === "no_quorum";
        if (failures++ === 0)
          this.log(
            noQuorum
              ? `agent: ${message(err)}; heartbeats wait for it, instances keep running`
              : `agent: cannot reach the control plane: ${message(err)}; retrying`,
          );
        // …but once quorum is back the lease has its TTL (and an election timeout) left: keep
        // the heartbeats' pace rather than back off beyond it.
        const pause = Math.min(5000, 200 * failures);
        await sleep(noQuorum ? Math.min(pause, (this.ttl * 1000) / 3) : pause, this.abort.signal);
      }
    }
  }

  /**
   * A heartbeat gets a third of the TTL to be answered: a server gone silent must not hold the
   * lease hostage; the client then moves on to the next server it knows (client/servers.ts).
   */
  private beatSignal(): AbortSignal {
    const ms = Math.max(1000, Math.round((this.ttl * 1000) / 3));
    return AbortSignal.any([this.abort.signal, AbortSignal.timeout(ms)]);
  }

  /** Follow the instances on this node with blocking reads, applying each answer. */
  private async follow(): Promise<void> {
    let index: number | undefined;
    let failures = 0;
    while (!this.stopped) {
      try {
        const res = await this.catalog.nodeInstances(this.nodeName, {
          ...(index === undefined ? {} : { index }),
          wait: this.opts.wait ?? "30s",
          signal: this.abort.signal,
        });
        index = res.index;
        failures = 0;
        this.apply(res.value);
      } catch (err) {
        if (this.stopped) return;
        if (failures++ === 0) this.log(`agent: cannot read the catalog: ${message(err)}; retrying`);
        await sleep(Math.min(5000, 200 * failures), this.abort.signal);
      }
    }
  }

  /** Make the running checks match the catalog; judge TTL checks and deregistration. */
  private apply(views: NodeInstanceView[]): void {
    if (this.stopped) return;
    this.views = views;
    const desired = new Map<
      string,
      { view: NodeInstanceView; check: ActiveCheck; stored: CheckView | undefined }
    >();
    for (const view of views) {
      for (const def of view.definitions) {
        const key = `${view.service}/${view.id}/${def.id}`;
        const stored = view.checks.find((c) => c.id === def.id);
        if (def.type === "ttl") this.judgeTtl(key, view, def, stored);
        else desired.set(key, { view, check: def, stored });
      }
    }
    for (const [key, running] of this.runners) {
      const want = desired.get(key);
      if (want === undefined || fingerprint(want.view, want.check) !== running.fingerprint) {
        void running.runner.stop();
        this.runners.delete(key);
      }
    }
    for (const [key, want] of desired) {
      const running = this.runners.get(key);
      if (running !== undefined) {
        running.runner.update(want.stored);
        continue;
      }
      const runner = new CheckRunner({
        check: want.check,
        target: { address: want.view.address, port: want.view.port },
        probes: this.probes,
        stored: want.stored,
        report: (result) => this.report(want.view, want.check, result),
      });
      this.runners.set(key, { runner, fingerprint: fingerprint(want.view, want.check) });
      runner.start();
    }
    this.judgeDeregistration();
  }

  private async report(
    view: NodeInstanceView,
    check: StoredCheck,
    result: { status: CheckView["status"]; output: string },
  ): Promise<CheckView | undefined> {
    try {
      const res = await this.catalog.reportHealth(view.service, view.id, check.id, result, {
        signal: this.abort.signal,
      });
      const { record } = res;
      this.failingReports.delete(`${view.service}/${view.id}/${check.id}`);
      return {
        id: check.id,
        name: check.name ?? check.id,
        type: check.type,
        status: record.status,
        output: record.output,
        updatedAt: record.updatedAt,
        since: record.since,
      };
    } catch (err) {
      // 404: the instance went away meanwhile; the next catalog read stops this check.
      const key = `${view.service}/${view.id}/${check.id}`;
      const quiet = this.stopped || (err instanceof ApiError && err.status === 404);
      if (!quiet && !this.failingReports.has(key)) {
        this.failingReports.add(key);
        this.log(`agent: cannot report ${key}: ${message(err)} (will retry)`);
      }
      return undefined;
    }
  }

  /**
   * A TTL result lives on a lease: when nobody refreshed it, it is gone and reads count it as
   * critical. Writing that down (only if still absent) gives it a `since`, so deregisterAfter
   * works for TTL checks too, and says why in its output.
   */
  private judgeTtl(
    key: string,
    view: NodeInstanceView,
    def: StoredCheck,
    stored: CheckView | undefined,
  ): void {
    if (stored?.updatedAt !== undefined || this.ttlPending.has(key)) return;
    this.ttlPending.add(key);
    const output = stored?.output ?? "TTL expired";
    this.catalog
      .reportHealth(
        view.service,
        view.id,
        def.id,
        { status: "critical", output },
        { cas: 0, signal: this.abort.signal },
      )
      .catch((err: unknown) => {
        // 409: it was refreshed meanwhile; 404: the instance is gone.
        if (
          !this.stopped &&
          !(err instanceof ApiError && (err.status === 409 || err.status === 404))
        )
          this.log(`agent: cannot report ${key}: ${message(err)}`);
      })
      .finally(() => this.ttlPending.delete(key));
  }

  /** Remove instances critical for too long; look again when the next one would be due. */
  private judgeDeregistration(): void {
    if (this.deregTimer !== undefined) clearTimeout(this.deregTimer);
    this.deregTimer = undefined;
    if (this.stopped) return;
    let next = Infinity;
    const now = Date.now();
    for (const view of this.views) {
      const key = `${view.service}/${view.id}`;
      if (this.deregistering.has(key)) continue;
      const decision = deregistrationDue(view.definitions, view.checks, now);
      if (decision.due !== undefined) {
        const { checkId, criticalForMs, deregisterAfterMs } = decision.due;
        this.log(
          `agent: deregistering ${key}: check ${checkId} critical for ${formatDuration(criticalForMs)} (deregisterAfter ${formatDuration(deregisterAfterMs)})`,
        );
        this.deregistering.add(key);
        this.catalog
          .deregister(view.service, view.id)
          .catch((err: unknown) => {
            if (!(err instanceof ApiError && err.status === 404))
              this.log(`agent: cannot deregister ${key}: ${message(err)}`);
          })
          .finally(() => this.deregistering.delete(key));
      } else if (decision.recheckAt !== undefined) {
        next = Math.min(next, decision.recheckAt);
      }
    }
    if (next !== Infinity)
      this.deregTimer = setTimeout(() => this.judgeDeregistration(), Math.max(0, next - now) + 20);
  }

  async stop(opts: AgentStopOptions = {}): Promise<void> {
    if (this.stopped) return;
    this.abort.abort();
    if (this.deregTimer !== undefined) clearTimeout(this.deregTimer);
    await Promise.all([...this.runners.values()].map((r) => r.runner.stop()));
    this.runners.clear();
    await Promise.all(this.loops);
    await this.converge?.stop();
    await this.runner?.stop({ stopInstances: opts.stopInstances === true });
    this.rejectJoined(new Error("the agent stopped"));
    // Instances left running still serve: the node stays until its lease runs out.
    const leave = this.runner === undefined || opts.stopInstances === true;
    if (this.lease !== undefined && leave) {
      // Leave at once rather than after the TTL; the server may already be gone, so do not wait long.
      await Promise.race([
        this.catalog.leaveNode(this.nodeName, this.lease).catch(() => undefined),
        new Promise((r) => setTimeout(r, 2000).unref()),
      ]);
      this.lease = undefined;
    }
  }
}

/** What makes a running check stale: its definition and the address it probes. */
const fingerprint = (view: NodeInstanceView, check: StoredCheck): string =>
  JSON.stringify([view.address, view.port, check]);

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
