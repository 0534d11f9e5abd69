/**
 * What every step of the deploy planner (deploy-plan.ts) works with: the snapshot, the app, the
 * times to look again, and the helpers that read the snapshot and build transitions.
 */
import type { App, Assignment, Deploy, InstanceStatus, Release, Waiting } from "../model/app.js";
import { appKey, assignmentKey, deployKey, instanceKey } from "../apps/keys.js";
import { assignmentId, instanceName } from "../apps/formation.js";
import { assignmentCode } from "../apps/release-code.js";
import { webServiceName } from "../model/app.js";
import { catalogKey, instanceHealthPrefix } from "../catalog/keys.js";
import type { Placed } from "../scheduler/place.js";
import { Cluster } from "../scheduler/cluster.js";
import { placeMany } from "../scheduler/sample.js";
import { demandOf, placedOf } from "./plan-placement.js";
import { waitNews, waitReason, type WaitNews, type WaitReason } from "./plan-wait.js";
import {
  MAX_BATCH,
  MAX_LOG,
  MIN_RUNNING_MS,
  NODE_LOST_MS,
  type DeploySnapshot,
  type PlanOptions,
  type Transition,
  type VA,
  type Versioned,
} from "./plan-types.js";

export abstract class PlanBase {
  protected readonly wakes: number[] = [];
  protected readonly app: App;

  constructor(
    protected readonly s: DeploySnapshot,
    protected readonly opts: PlanOptions,
    protected readonly appRec: Versioned<App>,
  ) {
    this.app = appRec.value;
  }

  protected transition(summary: string): Transition {
    return {
      summary,
      puts: [],
      deletes: [],
      guards: [{ key: appKey(this.app.name), modRevision: this.appRec.modRevision }],
      events: [],
    };
  }

  protected release(version: number): Versioned<Release> | undefined {
    return this.s.releases.find((r) => r.value.version === version);
  }

  protected runs(filter: (a: Assignment) => boolean): VA[] {
    return this.s.assignments.filter(
      (a) => a.value.kind === "run" && a.value.desired === "running" && filter(a.value),
    );
  }

  /** Whether an assignment sits on a live node that is being drained. */
  protected moving(a: Assignment): boolean {
    return this.s.draining.has(a.node) && this.s.nodes.includes(a.node);
  }

  /** The grace a gone node has before its instances count as lost (ms). */
  protected get graceMs(): number {
    return this.opts.nodeGraceMs ?? NODE_LOST_MS;
  }

  /** Whether an assignment's node has been gone for the grace (else when it will have). */
  protected lost(a: Assignment): boolean {
    if (this.s.nodes.includes(a.node)) return false;
    const at = (this.s.downSince.get(a.node) ?? this.s.now) + this.graceMs;
    if (at <= this.s.now) return true;
    this.wakes.push(at);
    return false;
  }

  /**
   * A lost instance goes: its assignment (should its node come back, the agent stops it), and
   * what its agent would have removed but no longer can — its status record and its catalog
   * entry with its check results.
   */
  protected forgetLost(t: Transition, l: VA): void {
    const service = webServiceName(l.value.app);
    t.deletes.push(
      { key: assignmentKey(l.value.node, l.value.id), expect: l.modRevision },
      { key: instanceKey(l.value.id) },
      { key: catalogKey(service, l.value.id) },
      { key: instanceHealthPrefix(service, l.value.id), prefix: true },
    );
  }

  protected iso(): string {
    return new Date(this.s.now).toISOString();
  }

  /** Whether an instance counts as started: web passes its check, others run ≥ 1 s. */
  protected ready(a: Assignment): boolean {
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
  protected notReadyReason(a: Assignment): string {
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

  protected crashReason(a: Assignment, inst: InstanceStatus): string {
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

  /**
   * What to tell about the instances a deploy or a scaling waits for, given what it told last
   * (plan-wait.ts); when to look again goes into the wake-ups.
   */
  protected waitNews(
    pending: Assignment[],
    told: Waiting | undefined,
    lastLineAt: number,
    more: WaitReason[] = [],
  ): WaitNews {
    const reasons = [...pending.map((a) => waitReason(a, this.s, this.app.healthPath)), ...more];
    const news = waitNews(reasons, told, lastLineAt, this.s.now);
    if (news.wakeAt !== undefined) this.wakes.push(news.wakeAt);
    return news;
  }

  /** Assignments to write as draining, from now. */
  protected drainPuts(t: Transition, list: VA[]): void {
    for (const a of list.slice(0, MAX_BATCH))
      t.puts.push({
        key: assignmentKey(a.value.node, a.value.id),
        value: { ...a.value, desired: "draining", drainingSince: this.iso() },
        expect: a.modRevision,
      });
  }

  /** Why newAssignments last could not place every instance (for the deploy log). */
  protected unplacedWhy: string | undefined;

  /**
   * New assignments for `counts`, placed on the live nodes that are not draining (one placement
   * index for all of them: src/scheduler/); undefined when some fit nowhere (`unplacedWhy` says why).
   */
  protected newAssignments(
    release: Release,
    counts: { type: string; indexes: number[] }[],
    staying: readonly Assignment[],
  ): Assignment[] | undefined {
    const out: Assignment[] = [];
    const existing: Placed[] = [...this.s.others, ...staying.map(placedOf)];
    const live = this.s.nodes.filter((n) => !this.s.draining.has(n));
    const cluster = new Cluster(
      live.map((n) => this.s.nodeInfo?.get(n) ?? { name: n }),
      existing,
    );
    const demand = demandOf(this.app);
    this.unplacedWhy = undefined;
    for (const { type, indexes } of counts) {
      const placed = placeMany(cluster, demand, indexes.length);
      if (placed.nodes.length < indexes.length) {
        // No live node at all: each caller says so in its own words.
        if (cluster.size > 0) this.unplacedWhy = placed.reason;
        return undefined;
      }
      indexes.forEach((index, i) => {
        const node = placed.nodes[i]!;
        out.push({
          id: assignmentId(this.app.name, release.version, type, index, this.opts.suffix()),
          app: this.app.name,
          release: release.version,
          processType: type,
          index,
          node,
          ...assignmentCode(release, this.app),
          ...(this.app.cpu === undefined ? {} : { cpu: this.app.cpu }),
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

  protected putDeploy(t: Transition, deploy: Deploy): void {
    t.puts.push({
      key: deployKey(this.app.name),
      value: { ...deploy, log: deploy.log.slice(-MAX_LOG) },
      expect: this.s.deploy?.modRevision ?? 0,
    });
  }
}

/** "lost web.2: node node-b (gone 12 s)". */
export function lostLine(lost: VA[], s: DeploySnapshot): string {
  const nodes = [...new Set(lost.map((l) => l.value.node))];
  const gone = nodes
    .map((n) => `${n} (gone ${Math.round((s.now - (s.downSince.get(n) ?? s.now)) / 1000)} s)`)
    .join(", ");
  return `lost ${lost.map((l) => instanceName(l.value)).join(", ")}: node ${gone}`;
}
