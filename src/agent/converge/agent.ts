import type { GantryClient } from "../../client/client.js";
import { ConvergeClient, type NodeConvergeView } from "../../client/converge.js";
import {
  ApiControlPlane,
  recordingControlPlane,
  type Reads,
} from "../../converge/control-plane.js";
import type { runJob } from "../../converge/run.js";
import type { Job, Report } from "../../converge/types.js";
import type { RunRecord, StatesBundle, Trigger } from "../../model/converge.js";
import { formatTrigger } from "../../model/converge.js";
import { RunScheduler } from "./scheduler.js";
import { sleep } from "../../sleep.js";
import { watchReads } from "./watch-reads.js";

export interface ConvergeAgentOptions {
  client: GantryClient;
  nodeName: string;
  log: (line: string) => void;
  /** Quiet time after a change before a run (default 200 ms). */
  debounceMs?: number;
  /** One blocking read of the node's settings waits this long (default "30s"). */
  wait?: string;
  /** The engine (swappable for tests of the loop): src/converge/run.ts. */
  runJob?: typeof runJob;
}

/**
 * An agent's converge loop: follow this node's converge settings and the states bundle with
 * blocking reads; run the states when either changes, or when a KV key or service the last run
 * read changes. Runs never overlap (RunScheduler); each one's result is reported to the control
 * plane. A node without roles, or a platform without states, runs nothing.
 */
export class ConvergeAgent {
  private readonly converge: ConvergeClient;
  private readonly abort = new AbortController();
  private readonly scheduler: RunScheduler;
  private run: typeof runJob | undefined;
  private bundle: StatesBundle | undefined;
  private watchers: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private idleLogged = false;

  constructor(private readonly opts: ConvergeAgentOptions) {
    this.converge = new ConvergeClient(opts.client);
    this.run = opts.runJob;
    this.scheduler = new RunScheduler({
      debounceMs: opts.debounceMs ?? 200,
      run: (triggers) => this.converge1(triggers),
    });
  }

  start(): void {
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.watchers?.abort();
    await this.scheduler.stop();
    await this.loop;
  }

  /** Follow the node's settings and the states hash; a change asks for a run. */
  private async follow(): Promise<void> {
    const signal = this.abort.signal;
    let index: number | undefined;
    let last: { hash: string | undefined; settings: string } | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const res = await this.converge.node(this.opts.nodeName, {
          ...(index === undefined ? {} : { index }),
          wait: this.opts.wait ?? "30s",
          signal,
        });
        failures = 0;
        index = res.index;
        const v = res.value;
        const settings = JSON.stringify([v.roles, v.vars, v.labels]);
        if (last === undefined) this.scheduler.request({ kind: "start" });
        else {
          if (v.statesHash !== last.hash && v.statesHash !== undefined)
            this.scheduler.request({ kind: "states", hash: v.statesHash });
          if (settings !== last.settings) this.scheduler.request({ kind: "roles" });
        }
        last = { hash: v.statesHash, settings };
      } catch (err) {
        if (signal.aborted) return;
        if (failures++ === 0)
          this.opts.log(`converge: cannot read this node's settings: ${message(err)}; retrying`);
        await sleep(Math.min(5000, 200 * failures), signal);
      }
    }
  }

  /** One run: fresh settings and states, the engine, the report, then watch what it read. */
  private async converge1(triggers: Trigger[]): Promise<void> {
    const signal = this.abort.signal;
    const { nodeName, log } = this.opts;
    let settings: NodeConvergeView;
    let revision: number;
    let bundle: StatesBundle | undefined;
    try {
      ({ value: settings, index: revision } = await this.converge.node(nodeName, { signal }));
      if (settings.statesHash !== undefined && settings.roles.length > 0)
        bundle = await this.statesFor(settings, signal);
    } catch (err) {
      // The server is away: try the same run again in a while (statically stable meanwhile).
      if (signal.aborted) return;
      log(`converge: cannot read the states: ${message(err)}; retrying`);
      await sleep(2000, signal);
      for (const t of triggers) this.scheduler.request(t);
      return;
    }
    if (settings.statesHash === undefined || settings.roles.length === 0) {
      this.stopWatchers();
      if (!this.idleLogged)
        log(
          `converge: nothing to apply on ${nodeName} (${settings.statesHash === undefined ? "no states pushed" : "no roles"})`,
        );
      this.idleLogged = true;
      return;
    }
    this.idleLogged = false;
    if (bundle === undefined) return;
    const reads: Reads = { keys: new Set(), services: new Map() };
    const cp = new ApiControlPlane(this.opts.client, { node: nodeName });
    const job: Job = {
      files: bundle.files,
      roles: settings.roles,
      states: [],
      nodeVars: settings.vars,
      extraVars: {},
      labels: settings.labels,
      check: false,
      host: nodeName,
    };
    const started = Date.now();
    let report: Report | undefined;
    let error: RunRecord["error"];
    try {
      // Loaded on the first run: an agent without states never pays for the engine.
      this.run ??= (await import("../../converge/run.js")).runJob;
      report = await this.run(job, { controlPlane: recordingControlPlane(cp, reads), signal });
    } catch (err) {
      if (signal.aborted) return;
      error = { code: (err as { code?: string }).code ?? "internal", message: message(err) };
    } finally {
      await cp.close();
    }
    const record: RunRecord = {
      node: nodeName,
      triggers,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      statesHash: bundle.hash,
      roles: settings.roles,
      ...(report === undefined ? {} : { summary: report.summary }),
      // Diffs stay out (they can be large); the rest the engine already redacted.
      resources: (report?.resources ?? []).map((r) => ({
        id: r.id,
        type: r.type,
        name: r.name,
        state: r.state,
        handler: r.handler,
        status: r.status,
        changes: r.changes,
        ...(r.message === undefined ? {} : { message: r.message }),
        durationMs: r.durationMs,
      })),
      reads: { keys: [...reads.keys], services: [...reads.services.keys()] },
      ...(error === undefined ? {} : { error }),
    };
    const what = triggers.map(formatTrigger).join(", ");
    log(
      error !== undefined
        ? `converge: run (${what}) failed: ${error.message}`
        : `converge: run (${what}): ${report!.summary.ok} ok, ${report!.summary.changed} changed, ${report!.summary.failed} failed in ${record.durationMs} ms`,
    );
    await this.report(record, signal);
    this.stopWatchers();
    if (reads.keys.size + reads.services.size === 0) return;
    this.watchers = new AbortController();
    watchReads({
      client: this.opts.client,
      reads,
      revisionOf: (key) => cp.seen.get(key) ?? revision,
      onChange: (t) => this.scheduler.request(t),
      log,
      signal: AbortSignal.any([signal, this.watchers.signal]),
    });
  }

  /** The bundle for the settings' hash: the cached one when it did not change. */
  private async statesFor(
    settings: NodeConvergeView,
    signal: AbortSignal,
  ): Promise<StatesBundle | undefined> {
    if (this.bundle?.hash !== settings.statesHash) this.bundle = await this.converge.bundle(signal);
    return this.bundle;
  }

  /** Store the run; a server that is away gets a few tries (the next run reports again anyway). */
  private async report(record: RunRecord, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await this.converge.reportRun(record, signal);
        return;
      } catch (err) {
        if (signal.aborted || attempt >= 5) {
          this.opts.log(`converge: cannot store the run: ${message(err)}`);
          return;
        }
        await sleep(200 * attempt, signal);
      }
    }
  }

  private stopWatchers(): void {
    this.watchers?.abort();
    this.watchers = undefined;
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
