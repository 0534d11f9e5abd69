/**
 * The deploy controller's brain: from a snapshot of one app's records, the next transition to
 * write (or none, and when to look again). Pure: no clock, no store, no randomness of its own,
 * so every path of the flow in docs/apps.md is a unit test.
 *
 * A transition is a set of writes guarded by the modRevisions the plan was made from: the
 * controller applies it as one store transaction, so two controllers (or a controller and an API
 * write) never both act on the same state. Order of business, one transition at a time:
 * drained instances are deleted → finished one-offs are cleaned up → a running deploy is judged
 * (progress, success, failure) → the oldest pending release starts deploying → the current
 * release is scaled to its formation (start the extra first, drain the surplus after).
 */
import type { App, Assignment, Deploy, InstanceStatus, Release } from "../model/app.js";
import type { HealthStatus } from "../model/service.js";
import { appKey, assignmentKey, deployKey, instanceKey } from "../apps/keys.js";
import { assignmentId, effectiveFormation, instanceName, sortTypes } from "../apps/formation.js";
import { releaseKey, webServiceName } from "../model/app.js";
import { catalogKey, instanceHealthPrefix } from "../catalog/keys.js";
import { place, type Placed } from "../scheduler/place.js";

/** A record and the modRevision it was read at. */
export interface Versioned<T> {
  value: T;
  modRevision: number;
}

/** A web instance as the catalog sees it. */
export interface InstanceHealth {
  status: HealthStatus;
  /** The failing check's output, for the reason of a failed deploy. */
  output: string;
}

export interface DeploySnapshot {
  now: number;
  app: Versioned<App> | undefined;
  /** The app's releases, any order. */
  releases: Versioned<Release>[];
  deploy: Versioned<Deploy> | undefined;
  /** The app's assignments (every node). */
  assignments: Versioned<Assignment>[];
  /** What the agents report, by instance id. */
  instances: ReadonlyMap<string, InstanceStatus>;
  /** Catalog health of the app's web instances, by instance id. */
  health: ReadonlyMap<string, InstanceHealth>;
  /** Live nodes. */
  nodes: readonly string[];
  /**
   * Nodes that hold assignments but are not live, with when the controller first saw them
   * gone (ms). Their instances are lost, and replaced, NODE_LOST_MS after that.
   */
  downSince: ReadonlyMap<string, number>;
  /** Other apps' running instances, so new ones spread over the least busy nodes. */
  others: readonly Placed[];
}

export interface PlanOptions {
  /** A fresh suffix for assignment ids (4 random characters in production). */
  suffix: () => string;
}

export interface Transition {
  /** What it does, for logs and tests. */
  summary: string;
  /** Records to write; `expect` is the modRevision the key must still have (0: absent). */
  puts: { key: string; value: unknown; expect: number }[];
  /**
   * Keys to delete; `expect` as for puts, or absent for records the agents own (instances,
   * catalog entries). With `prefix`, every key under it (never with `expect`).
   */
  deletes: { key: string; expect?: number; prefix?: boolean }[];
  /** Records only read whose change must void the plan. */
  guards: { key: string; modRevision: number }[];
  /** Lines for the app's log (source `deploy`). */
  events: string[];
}

export interface Plan {
  transition?: Transition;
  /** With no transition: when time alone may change the answer (a deadline, a drain). */
  wakeAt?: number;
}

/** A non-web instance must stay up this long to count as started. */
export const MIN_RUNNING_MS = 1000;
/** A finished one-off's assignment is removed this long after it ended. */
export const ONEOFF_KEEP_MS = 60_000;
/**
 * How long a node may be gone (its heartbeat lease expired: 10 s of silence by default) before
 * its instances count as lost and are started again elsewhere. A `gantry up` restarting, or an
 * agent rejoining after a blip, is back well within it.
 */
export const NODE_LOST_MS = 10_000;
/** The deploy log keeps this many lines (the schema's bound). */
const MAX_LOG = 200;
/**
 * Most instances one transition starts, drains or deletes: a store transaction holds at most
 * 128 operations (etcd's default). Drains and deletes beyond it follow in the next transitions.
 */
export const MAX_BATCH = 100;
/** Lost instances replaced or forgotten in one transition (each is five operations). */
export const LOST_BATCH = 20;

type VA = Versioned<Assignment>;

export function planDeploy(s: DeploySnapshot, opts: PlanOptions): Plan {
  if (s.app === undefined) return {};
  const p = new Planner(s, opts, s.app);
  return p.plan();
}

class Planner {
  private readonly wakes: number[] = [];
  private readonly app: App;

  constructor(
    private readonly s: DeploySnapshot,
    private readonly opts: PlanOptions,
    private readonly appRec: Versioned<App>,
  ) {
    this.app = appRec.value;
  }

  plan(): Plan {
    const t =
      this.deleteDrained() ??
      this.cleanOneoffs() ??
      this.judgeDeploy() ??
      this.startDeploy() ??
      this.scale();
    if (t !== undefined) return { transition: t };
    const future = this.wakes.filter((w) => w > this.s.now);
    return future.length === 0 ? {} : { wakeAt: Math.min(...future) };
  }

  // --- helpers -------------------------------------------------------------------------------

  private transition(summary: string): Transition {
    return {
      summary,
      puts: [],
      deletes: [],
      guards: [{ key: appKey(this.app.name), modRevision: this.appRec.modRevision }],
      events: [],
    };
  }

  private release(version: number): Versioned<Release> | undefined {
    return this.s.releases.find((r) => r.value.version === version);
  }

  private runs(filter: (a: Assignment) => boolean): VA[] {
    return this.s.assignments.filter(
      (a) => a.value.kind === "run" && a.value.desired === "running" && filter(a.value),
    );
  }

  /** Whether an assignment's node has been gone for NODE_LOST_MS (else when it will have). */
  private lost(a: Assignment): boolean {
    if (this.s.nodes.includes(a.node)) return false;
    const at = (this.s.downSince.get(a.node) ?? this.s.now) + NODE_LOST_MS;
    if (at <= this.s.now) return true;
    this.wakes.push(at);
    return false;
  }

  /**
   * A lost instance goes: its assignment (should its node come back, the agent stops it), and
   * what its agent would have removed but no longer can — its status record and its catalog
   * entry with its check results.
   */
  private forgetLost(t: Transition, l: VA): void {
    const service = webServiceName(l.value.app);
    t.deletes.push(
      { key: assignmentKey(l.value.node, l.value.id), expect: l.modRevision },
      { key: instanceKey(l.value.id) },
      { key: catalogKey(service, l.value.id) },
      { key: instanceHealthPrefix(service, l.value.id), prefix: true },
    );
  }

  private iso(): string {
    return new Date(this.s.now).toISOString();
  }

  /** Whether an instance counts as started: web passes its check, others run ≥ 1 s. */
  private ready(a: Assignment): boolean {
    const inst = this.s.instances.get(a.id);
    if (a.processType === "web") {
      return inst?.state !== "crashed" && this.s.health.get(a.id)?.status === "passing";
    }
    if (inst?.state !== "running") return false;
    const since = Date.parse(inst.startedAt ?? inst.updatedAt);
    if (this.s.now - since >= MIN_RUNNING_MS) return true;
    this.wakes.push(since + MIN_RUNNING_MS);
    return false;
  }

  /** Why an instance is not started yet, in words. */
  private notReadyReason(a: Assignment): string {
    const name = instanceName(a);
    if (!this.s.nodes.includes(a.node))
      return `${name} was placed on node ${a.node}, which went down (its agent stopped heartbeating)`;
    const inst = this.s.instances.get(a.id);
    if (inst === undefined) return `${name} was not started on node ${a.node}`;
    if (a.processType !== "web")
      return `${name} did not keep running for ${MIN_RUNNING_MS / 1000} s (state: ${inst.state})`;
    const h = this.s.health.get(a.id);
    if (h === undefined) return `${name} never registered in the catalog (state: ${inst.state})`;
    const out = h.output.trim() === "" ? "" : `: ${h.output.trim().split("\n")[0]}`;
    return `${name} did not pass its health check on ${this.app.healthPath} (${h.status}${out})`;
  }

  private crashReason(a: Assignment, inst: InstanceStatus): string {
    const code =
      inst.exitCode === undefined || inst.exitCode === null ? "" : `, exit code ${inst.exitCode}`;
    const restarts = inst.restarts > 0 ? `, restarted ${inst.restarts} times` : "";
    const tail = inst.lastOutput.slice(-10);
    const output =
      tail.length === 0
        ? " (no output)"
        : `; last output:\n${tail.map((l) => `  ${l}`).join("\n")}`;
    return `${instanceName(a)} crashed${code}${restarts}${output}`;
  }

  /** Assignments to write as draining, from now. */
  private drainPuts(t: Transition, list: VA[]): void {
    for (const a of list.slice(0, MAX_BATCH))
      t.puts.push({
        key: assignmentKey(a.value.node, a.value.id),
        value: { ...a.value, desired: "draining", drainingSince: this.iso() },
        expect: a.modRevision,
      });
  }

  private newAssignments(
    release: Release,
    counts: { type: string; indexes: number[] }[],
    staying: readonly Placed[],
  ): Assignment[] | undefined {
    const out: Assignment[] = [];
    const existing: Placed[] = [...this.s.others, ...staying];
    for (const { type, indexes } of counts) {
      const nodes = place({
        nodes: this.s.nodes,
        app: this.app.name,
        count: indexes.length,
        existing,
      });
      if (nodes.length < indexes.length) return undefined;
      indexes.forEach((index, i) => {
        const node = nodes[i]!;
        existing.push({ node, app: this.app.name });
        out.push({
          id: assignmentId(this.app.name, release.version, type, index, this.opts.suffix()),
          app: this.app.name,
          release: release.version,
          processType: type,
          index,
          node,
          artifact: release.artifact!,
          command: release.processTypes[type]!,
          kind: "run",
          desired: "running",
          healthPath: this.app.healthPath,
          createdAt: this.iso(),
        });
      });
    }
    return out;
  }

  private putDeploy(t: Transition, deploy: Deploy): void {
    t.puts.push({
      key: deployKey(this.app.name),
      value: { ...deploy, log: deploy.log.slice(-MAX_LOG) },
      expect: this.s.deploy?.modRevision ?? 0,
    });
  }

  // --- 1. drained instances ------------------------------------------------------------------

  private deleteDrained(): Transition | undefined {
    const due: VA[] = [];
    for (const a of this.s.assignments) {
      if (a.value.desired !== "draining") continue;
      const since = Date.parse(a.value.drainingSince ?? a.value.createdAt);
      const at = since + this.app.drainMs;
      if (at <= this.s.now) due.push(a);
      else this.wakes.push(at);
    }
    if (due.length === 0) return undefined;
    // One on a node that is down also takes what its agent is not there to remove.
    const orphaned = due.filter((a) => !this.s.nodes.includes(a.value.node));
    due.splice(orphaned.length > 0 ? LOST_BATCH : MAX_BATCH);
    const t = this.transition(`stop ${due.length} drained instance(s)`);
    for (const a of due)
      if (orphaned.includes(a)) this.forgetLost(t, a);
      else t.deletes.push({ key: assignmentKey(a.value.node, a.value.id), expect: a.modRevision });
    t.events.push(
      `stopping ${due
        .map((a) => `${instanceName(a.value)} (v${a.value.release})`)
        .join(", ")} after draining`,
    );
    return t;
  }

  // --- 2. finished one-offs ------------------------------------------------------------------

  private cleanOneoffs(): Transition | undefined {
    const due: VA[] = [];
    let lost = 0;
    for (const a of this.s.assignments) {
      if (a.value.kind !== "oneoff") continue;
      const inst = this.s.instances.get(a.value.id);
      const ended = inst !== undefined && ["exited", "crashed", "stopped"].includes(inst.state);
      // One on a node gone for good will never end: it goes like a finished one.
      if (!ended && !this.lost(a.value)) continue;
      const endedAt = ended
        ? Date.parse(inst.updatedAt)
        : (this.s.downSince.get(a.value.node) ?? this.s.now) + NODE_LOST_MS;
      const at = endedAt + ONEOFF_KEEP_MS;
      if (at > this.s.now) this.wakes.push(at);
      else {
        due.push(a);
        if (!ended) lost++;
      }
    }
    if (due.length === 0) return undefined;
    due.splice(MAX_BATCH);
    const t = this.transition(
      `remove ${due.length} ${lost > 0 ? "finished or lost" : "finished"} one-off(s)`,
    );
    // Their status went unread for a minute: the instance record goes too (agents keep a
    // one-off's record after it exits so that `gantry run` can read its exit code).
    for (const a of due)
      t.deletes.push(
        { key: assignmentKey(a.value.node, a.value.id), expect: a.modRevision },
        { key: instanceKey(a.value.id) },
      );
    return t;
  }

  // --- 3. the running deploy -----------------------------------------------------------------

  private judgeDeploy(): Transition | undefined {
    const d = this.s.deploy;
    if (d === undefined || d.value.status !== "running") return undefined;
    const deploy = d.value;
    const rel = this.release(deploy.release);
    const news = this.runs((a) => a.release === deploy.release);
    if (rel === undefined) return this.fail(deploy, undefined, news, "the release was deleted");
    for (const a of news) {
      const inst = this.s.instances.get(a.value.id);
      if (inst?.state === "crashed")
        return this.fail(deploy, rel, news, this.crashReason(a.value, inst));
    }
    const lines: string[] = [];
    const pending: Assignment[] = [];
    for (const a of news) {
      const inst = this.s.instances.get(a.value.id);
      const name = instanceName(a.value);
      if (inst !== undefined && inst.state === "running") {
        const where = inst.port === undefined ? "" : ` (port ${inst.port})`;
        lines.push(`${name} is running on ${a.value.node}${where}`);
      }
      if (this.ready(a.value))
        lines.push(
          a.value.processType === "web" ? `${name} passes its health check` : `${name} is up`,
        );
      else pending.push(a.value);
    }
    const fresh = lines.filter((l) => !deploy.log.includes(l));
    if (pending.length === 0) return this.succeed(deploy, rel, fresh);
    const deadline = Date.parse(deploy.startedAt) + this.app.deployTimeoutMs;
    if (this.s.now >= deadline) {
      const secs = Math.round(this.app.deployTimeoutMs / 1000);
      const more = pending.length > 1 ? ` (and ${pending.length - 1} more)` : "";
      const reason = `not ready within ${secs} s: ${this.notReadyReason(pending[0]!)}${more}`;
      return this.fail(deploy, rel, news, reason);
    }
    this.wakes.push(deadline);
    if (fresh.length === 0) return undefined;
    const t = this.transition(`progress of v${deploy.release}`);
    this.putDeploy(t, { ...deploy, log: [...deploy.log, ...fresh] });
    t.events.push(...fresh);
    return t;
  }

  private succeed(deploy: Deploy, rel: Versioned<Release>, lines: string[]): Transition {
    const t = this.transition(`v${deploy.release} is live`);
    this.finishSuccess(t, rel, deploy, lines);
    return t;
  }

  /** Writes of a successful deploy: release active, previous superseded, old instances drain. */
  private finishSuccess(
    t: Transition,
    rel: Versioned<Release>,
    deploy: Deploy,
    lines: string[],
  ): void {
    const version = rel.value.version;
    const formation = { ...this.app.formation };
    if ("web" in rel.value.processTypes && formation["web"] === undefined) formation["web"] = 1;
    t.puts.push({
      key: appKey(this.app.name),
      value: { ...this.app, currentRelease: version, formation },
      expect: this.appRec.modRevision,
    });
    t.puts.push({
      key: releaseKey(this.app.name, version),
      value: { ...rel.value, status: "active" },
      expect: rel.modRevision,
    });
    for (const r of this.s.releases)
      if (r.value.version !== version && r.value.status === "active")
        t.puts.push({
          key: releaseKey(this.app.name, r.value.version),
          value: { ...r.value, status: "superseded" },
          expect: r.modRevision,
        });
    const old = this.runs((a) => a.release !== version);
    this.drainPuts(t, old);
    const done = [...lines];
    done.push(
      deploy.previous > 0 && old.length > 0
        ? `v${version} is live; traffic moved from v${deploy.previous}, draining ${old.length} old instance(s) for ${this.app.drainMs / 1000} s`
        : `v${version} is live`,
    );
    this.putDeploy(t, {
      ...deploy,
      status: "succeeded",
      finishedAt: this.iso(),
      log: [...deploy.log, ...done],
    });
    t.events.push(...done);
  }

  private fail(
    deploy: Deploy,
    rel: Versioned<Release> | undefined,
    news: VA[],
    reason: string,
  ): Transition {
    const t = this.transition(`v${deploy.release} failed`);
    // More than a batch of new instances is refused at start, so they all fit here.
    for (const a of news)
      t.deletes.push({ key: assignmentKey(a.value.node, a.value.id), expect: a.modRevision });
    if (rel !== undefined)
      t.puts.push({
        key: releaseKey(this.app.name, rel.value.version),
        value: { ...rel.value, status: "failed", error: reason },
        expect: rel.modRevision,
      });
    const keep =
      deploy.previous > 0 ? `; v${deploy.previous} keeps serving` : "; nothing was running";
    const line = `deploy of v${deploy.release} failed: ${reason}${keep}`;
    this.putDeploy(t, {
      ...deploy,
      status: "failed",
      error: reason,
      finishedAt: this.iso(),
      log: [...deploy.log, ...line.split("\n")],
    });
    t.events.push(...line.split("\n"));
    return t;
  }

  // --- 4. the next pending release -----------------------------------------------------------

  private startDeploy(): Transition | undefined {
    if (this.s.deploy?.value.status === "running") return undefined;
    const pending = this.s.releases
      .filter((r) => r.value.status === "pending")
      .sort((a, b) => a.value.version - b.value.version)[0];
    if (pending === undefined) return undefined;
    const rel = pending.value;
    const deploy: Deploy = {
      app: this.app.name,
      release: rel.version,
      previous: this.app.currentRelease,
      status: "running",
      startedAt: this.iso(),
      log: [`deploying v${rel.version}: ${rel.description}`],
    };
    if (rel.artifact === undefined) {
      const t = this.transition(`v${rel.version} has nothing to run`);
      this.finishSuccess(t, pending, deploy, [
        "no build yet: the release is recorded, nothing runs",
      ]);
      return t;
    }
    const formation = effectiveFormation(this.app.formation, rel.processTypes);
    const counts = sortTypes(Object.keys(formation))
      .filter((type) => formation[type]! > 0)
      .map((type) => ({ type, indexes: range(1, formation[type]!) }));
    const total = counts.reduce((n, c) => n + c.indexes.length, 0);
    if (total === 0) {
      const t = this.transition(`v${rel.version} runs no instances`);
      this.finishSuccess(t, pending, deploy, ["the formation runs no instances of this release"]);
      return t;
    }
    if (total > MAX_BATCH)
      return this.fail(
        deploy,
        pending,
        [],
        `the formation asks for ${total} instances; one deploy starts at most ${MAX_BATCH}`,
      );
    const staying = this.s.assignments
      .filter((a) => a.value.kind === "oneoff" && a.value.desired === "running")
      .map((a) => a.value);
    const created = this.newAssignments(rel, counts, staying);
    if (created === undefined) return this.fail(deploy, pending, [], "no live node to run it on");
    const t = this.transition(`start deploying v${rel.version}`);
    t.puts.push({
      key: releaseKey(this.app.name, rel.version),
      value: { ...rel, status: "deploying" },
      expect: pending.modRevision,
    });
    for (const a of created) t.puts.push({ key: assignmentKey(a.node, a.id), value: a, expect: 0 });
    const started = `starting ${created.map((a) => `${instanceName(a)} on ${a.node}`).join(", ")}`;
    const secs = Math.round(this.app.deployTimeoutMs / 1000);
    deploy.log.push(started, `waiting up to ${secs} s for them to become healthy`);
    this.putDeploy(t, deploy);
    t.events.push(...deploy.log);
    return t;
  }

  // --- 5. the current release's formation ----------------------------------------------------

  private scale(): Transition | undefined {
    if (this.s.deploy?.value.status === "running" || this.app.currentRelease === 0)
      return undefined;
    const current = this.app.currentRelease;
    const orphans = this.runs((a) => a.release !== current);
    if (orphans.length > 0) {
      const t = this.transition(`drain ${orphans.length} instance(s) of other releases`);
      this.drainPuts(t, orphans);
      t.events.push(
        `draining ${orphans.map((a) => `${instanceName(a.value)} (v${a.value.release})`).join(", ")}: not of the current release v${current}`,
      );
      return t;
    }
    const rel = this.release(current);
    if (rel === undefined || rel.value.artifact === undefined) return undefined;
    const want = effectiveFormation(this.app.formation, rel.value.processTypes);
    // Instances on a node gone for good are not running: their places are filled again.
    const lost = this.runs((a) => a.release === current && this.lost(a));
    const lostIds = new Set(lost.map((a) => a.value.id));
    const running = this.runs((a) => a.release === current && !lostIds.has(a.id));
    const byType = new Map<string, VA[]>();
    for (const a of running) {
      const list = byType.get(a.value.processType) ?? [];
      list.push(a);
      byType.set(a.value.processType, list);
    }
    // Start what is missing first.
    const missing: { type: string; indexes: number[] }[] = [];
    for (const type of sortTypes(Object.keys(want))) {
      const have = byType.get(type) ?? [];
      const need = want[type]! - have.length;
      if (need <= 0) continue;
      const taken = new Set(have.map((a) => a.value.index));
      const indexes: number[] = [];
      for (let i = 1; indexes.length < need; i++) if (!taken.has(i)) indexes.push(i);
      missing.push({ type, indexes });
    }
    if (missing.length > 0) {
      const staying = this.s.assignments
        .filter((a) => a.value.desired === "running")
        .map((a) => a.value);
      // Each lost instance replaced costs five operations (below): fewer per transition then.
      let room = lost.length > 0 ? LOST_BATCH : MAX_BATCH;
      const batch = missing
        .map((m) => {
          const indexes = m.indexes.slice(0, room);
          room -= indexes.length;
          return { type: m.type, indexes };
        })
        .filter((m) => m.indexes.length > 0);
      const created = this.newAssignments(rel.value, batch, staying);
      if (created !== undefined && created.length > 0) {
        const replaced = lost.filter((l) =>
          created.some((c) => c.processType === l.value.processType && c.index === l.value.index),
        );
        const t = this.transition(
          replaced.length > 0 ? `replace lost instances of v${current}` : `scale up v${current}`,
        );
        for (const a of created)
          t.puts.push({ key: assignmentKey(a.node, a.id), value: a, expect: 0 });
        for (const l of replaced) this.forgetLost(t, l);
        if (replaced.length > 0) t.events.push(lostLine(replaced, this.s));
        t.events.push(
          `${replaced.length > 0 ? "replacing" : "scaling"}: starting ${created.map((a) => `${instanceName(a)} on ${a.node}`).join(", ")}`,
        );
        return t;
      }
    }
    // Lost instances the formation no longer wants (scaled down meanwhile) are forgotten.
    const unwanted = lost.filter((l) => l.value.index > (want[l.value.processType] ?? 0));
    if (unwanted.length > 0) {
      const t = this.transition(`forget ${unwanted.length} lost instance(s)`);
      for (const l of unwanted.slice(0, LOST_BATCH)) this.forgetLost(t, l);
      t.events.push(lostLine(unwanted, this.s));
      return t;
    }
    if (missing.length > 0) return undefined;
    // Then drain the surplus, once everything that stays is up (or has had its chance).
    const surplus: VA[] = [];
    for (const [type, list] of byType) {
      const keep = want[type] ?? 0;
      const sorted = [...list].sort((a, b) => a.value.index - b.value.index);
      surplus.push(...sorted.slice(keep));
    }
    if (surplus.length === 0) return undefined;
    const surplusIds = new Set(surplus.map((a) => a.value.id));
    for (const a of running) {
      if (surplusIds.has(a.value.id) || this.ready(a.value)) continue;
      const giveUp = Date.parse(a.value.createdAt) + this.app.deployTimeoutMs;
      if (giveUp > this.s.now) {
        this.wakes.push(giveUp);
        return undefined;
      }
    }
    const t = this.transition(`scale down v${current}`);
    this.drainPuts(t, surplus);
    t.events.push(
      `scaling: draining ${surplus.map((a) => instanceName(a.value)).join(", ")} for ${this.app.drainMs / 1000} s`,
    );
    return t;
  }
}

/** "web.2 on node-b lost: the node has been gone for 12 s". */
function lostLine(lost: VA[], s: DeploySnapshot): string {
  const nodes = [...new Set(lost.map((l) => l.value.node))];
  const gone = nodes
    .map((n) => `${n} (gone ${Math.round((s.now - (s.downSince.get(n) ?? s.now)) / 1000)} s)`)
    .join(", ");
  return `lost ${lost.map((l) => instanceName(l.value)).join(", ")}: node ${gone}`;
}

const range = (from: number, count: number): number[] =>
  Array.from({ length: count }, (_, i) => from + i);
