/**
 * The deploy controller's brain: from a snapshot of one app's records, the next transition to
 * write (or none, and when to look again). Pure: no clock, no store, no randomness of its own,
 * so every path of the flow in docs/apps.md is a unit test.
 *
 * A transition is a set of writes guarded by the modRevisions the plan was made from: the
 * controller applies it as one store transaction, so two controllers (or a controller and an API
 * write) never both act on the same state. Order of business, one transition at a time:
 * drained instances are deleted → finished one-offs are cleaned up → a running deploy is judged
 * (its release phase, progress, success, failure) → the oldest pending release starts deploying
 * (with its release phase first, when it has one: plan-release-phase.ts) → the current
 * release is scaled to its formation (start the extra first, drain the surplus after; instances
 * on a node gone for good are started again elsewhere).
 *
 * Steps 1–4 live here, step 5 (the formation, with failover and node drains) in
 * plan-formation.ts, and the record of a `ps:scale` it carries out in plan-scale.ts; what a
 * deploy waits for, in words, in plan-wait.ts; their input and output types in plan-types.ts,
 * the helpers they share (reading the snapshot, building transitions) in plan-base.ts.
 */
import { hasCode } from "../apps/release-code.js";
import type { Assignment, Deploy, Release } from "../model/app.js";
import { appKey, assignmentKey, instanceKey } from "../apps/keys.js";
import { effectiveFormation, instanceName, sortTypes } from "../apps/formation.js";
import { releaseKey } from "../model/app.js";
import { ReleasePhasePlanner } from "./plan-release-phase.js";
import {
  CRASHES_TO_FAIL,
  LOST_BATCH,
  MAX_BATCH,
  ONEOFF_KEEP_MS,
  type DeploySnapshot,
  type Plan,
  type PlanOptions,
  type Transition,
  type VA,
  type Versioned,
} from "./plan-types.js";

export * from "./plan-types.js";

export function planDeploy(s: DeploySnapshot, opts: PlanOptions): Plan {
  if (s.app === undefined) return {};
  const p = new Planner(s, opts, s.app);
  return p.plan();
}

class Planner extends ReleasePhasePlanner {
  plan(): Plan {
    const t =
      this.deleteDrained() ??
      this.cleanOneoffs() ??
      this.judgeDeploy() ??
      this.startDeploy() ??
      this.formation();
    if (t !== undefined) return { transition: t };
    const future = this.wakes.filter((w) => w > this.s.now);
    return future.length === 0 ? {} : { wakeAt: Math.min(...future) };
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
      if (a.value.kind !== "oneoff" || this.judgedPhase(a.value)) continue;
      const inst = this.s.instances.get(a.value.id);
      const ended = inst !== undefined && ["exited", "crashed", "stopped"].includes(inst.state);
      // One on a node gone for good will never end: it goes like a finished one.
      if (!ended && !this.lost(a.value)) continue;
      const endedAt = ended
        ? Date.parse(inst.updatedAt)
        : (this.s.downSince.get(a.value.node) ?? this.s.now) + this.graceMs;
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
    // Abandoned (its push did not complete: docs/apps.md): the deploy ends, its instances go.
    if (rel.value.status === "abandoned") {
      const t = this.fail(deploy, undefined, news, `abandoned: ${rel.value.error}`);
      this.endPhaseOf(t, rel, `abandoned: ${rel.value.error}`);
      return t;
    }
    if (rel.value.releasePhase?.status === "running") return this.judgeReleasePhase(deploy, rel);
    for (const a of news) {
      const inst = this.s.instances.get(a.value.id);
      // One crash is restarted, and the deploy waits saying so; a second fails it at once.
      if (
        inst?.state === "crashed" &&
        (inst.restartAt === undefined || inst.restarts >= CRASHES_TO_FAIL)
      )
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
    // The instances have the deploy timeout from when they were placed: after the release phase.
    const placedAt = rel.value.releasePhase?.finishedAt ?? deploy.startedAt;
    const deadline = Date.parse(placedAt) + this.app.deployTimeoutMs;
    if (this.s.now >= deadline) {
      const secs = Math.round(this.app.deployTimeoutMs / 1000);
      const more = pending.length > 1 ? ` (and ${pending.length - 1} more)` : "";
      const reason = `not ready within ${secs} s: ${this.notReadyReason(pending[0]!)}${more}`;
      return this.fail(deploy, rel, news, reason);
    }
    this.wakes.push(deadline);
    const lastLineAt =
      fresh.length > 0 ? this.s.now : Date.parse(deploy.loggedAt ?? deploy.startedAt);
    const wait = this.waitNews(pending, deploy.waiting, lastLineAt);
    if (wait.line !== undefined) fresh.push(wait.line);
    if (fresh.length === 0) return undefined;
    const t = this.transition(`progress of v${deploy.release}`);
    this.putDeploy(t, {
      ...deploy,
      log: [...deploy.log, ...fresh],
      loggedAt: this.iso(),
      ...(wait.waiting === undefined ? {} : { waiting: wait.waiting }),
    });
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

  protected fail(
    deploy: Deploy,
    rel: Versioned<Release> | undefined,
    news: VA[],
    reason: string,
  ): Transition {
    const t = this.transition(`v${deploy.release} failed`);
    // More than a batch of new instances is refused at start, so they all fit here.
    for (const a of news)
      t.deletes.push({ key: assignmentKey(a.value.node, a.value.id), expect: a.modRevision });
    this.stopPhase(t, deploy.release);
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
      log: [],
    };
    const first = [`deploying v${rel.version}: ${rel.description}`];
    if (!hasCode(rel)) {
      const t = this.transition(`v${rel.version} has nothing to run`);
      this.finishSuccess(t, pending, { ...deploy, log: first }, [
        "no build yet: the release is recorded, nothing runs",
      ]);
      return t;
    }
    return (
      this.startReleasePhase(pending, deploy, first) ??
      this.startFormation(pending, deploy, first, `start deploying v${rel.version}`)
    );
  }

  /**
   * Place a release's formation as new assignments, the release `deploying`, the deploy telling
   * `lines` first: at the start of its deploy, or once its release phase succeeded.
   */
  protected startFormation(
    pending: Versioned<Release>,
    deploy: Deploy,
    lines: string[],
    summary: string,
  ): Transition {
    const rel = pending.value;
    const told = { ...deploy, log: [...deploy.log, ...lines] };
    const formation = effectiveFormation(this.app.formation, rel.processTypes);
    const counts = sortTypes(Object.keys(formation))
      .filter((type) => formation[type]! > 0)
      .map((type) => ({ type, indexes: range(1, formation[type]!) }));
    const total = counts.reduce((n, c) => n + c.indexes.length, 0);
    if (total === 0) {
      const t = this.transition(`v${rel.version} runs no instances`);
      this.finishSuccess(t, pending, deploy, [
        ...lines,
        "the formation runs no instances of this release",
      ]);
      return t;
    }
    if (total > MAX_BATCH)
      return this.fail(
        told,
        pending,
        [],
        `the formation asks for ${total} instances; one deploy starts at most ${MAX_BATCH}`,
      );
    const staying = this.s.assignments
      .filter((a) => a.value.kind === "oneoff" && a.value.desired === "running")
      .map((a) => a.value);
    const created = this.newAssignments(rel, counts, staying);
    if (created === undefined)
      return this.fail(told, pending, [], this.unplacedWhy ?? "no live node to run it on");
    const t = this.transition(summary);
    t.puts.push({
      key: releaseKey(this.app.name, rel.version),
      value: { ...rel, status: "deploying" },
      expect: pending.modRevision,
    });
    for (const a of created) t.puts.push({ key: assignmentKey(a.node, a.id), value: a, expect: 0 });
    const started = `starting ${created.map((a) => `${instanceName(a)} on ${a.node}`).join(", ")}`;
    const secs = Math.round(this.app.deployTimeoutMs / 1000);
    const fresh = [...lines, started, `waiting up to ${secs} s for them to become healthy`];
    this.putDeploy(t, { ...deploy, log: [...deploy.log, ...fresh], loggedAt: this.iso() });
    t.events.push(...fresh);
    return t;
  }
}

const range = (from: number, count: number): number[] =>
  Array.from({ length: count }, (_, i) => from + i);
