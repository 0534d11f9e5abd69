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
 * release is scaled to its formation (start the extra first, drain the surplus after; instances
 * on a node gone for good are started again elsewhere).
 *
 * The steps live here; their input and output types in plan-types.ts, the helpers they share
 * (reading the snapshot, building transitions) in plan-base.ts.
 */
import type { Assignment, Deploy, Release } from "../model/app.js";
import { appKey, assignmentKey, instanceKey } from "../apps/keys.js";
import { effectiveFormation, instanceName, sortTypes } from "../apps/formation.js";
import { releaseKey } from "../model/app.js";
import { lostLine, PlanBase } from "./plan-base.js";
import {
  LOST_BATCH,
  MAX_BATCH,
  NODE_LOST_MS,
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

class Planner extends PlanBase {
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
    // Instances on a node being drained keep serving until their replacement is up.
    const moving = this.runs((a) => a.release === current && this.moving(a));
    const movingIds = new Set(moving.map((a) => a.value.id));
    const running = this.runs(
      (a) => a.release === current && !lostIds.has(a.id) && !movingIds.has(a.id),
    );
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
        const same = (l: VA): boolean =>
          created.some((c) => c.processType === l.value.processType && c.index === l.value.index);
        const replaced = lost.filter(same);
        const moved = moving.filter(same);
        const t = this.transition(
          replaced.length > 0
            ? `replace lost instances of v${current}`
            : moved.length > 0
              ? `move instances of v${current} off draining nodes`
              : `scale up v${current}`,
        );
        for (const a of created)
          t.puts.push({ key: assignmentKey(a.node, a.id), value: a, expect: 0 });
        for (const l of replaced) this.forgetLost(t, l);
        if (replaced.length > 0) t.events.push(lostLine(replaced, this.s));
        const why = replaced.length > 0 ? "replacing" : moved.length > 0 ? "moving" : "scaling";
        t.events.push(
          `${why}: starting ${created.map((a) => `${instanceName(a)} on ${a.node}`).join(", ")}`,
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
    // An instance on a draining node stops once its replacement is up (or when none is wanted).
    const handOver = moving.filter((m) => {
      if (m.value.index > (want[m.value.processType] ?? 0)) return true;
      const next = running.find(
        (r) => r.value.processType === m.value.processType && r.value.index === m.value.index,
      );
      return next !== undefined && this.ready(next.value);
    });
    if (handOver.length > 0) {
      const t = this.transition(`hand over ${handOver.length} instance(s) from draining nodes`);
      this.drainPuts(t, handOver);
      t.events.push(
        `draining ${handOver.map((a) => `${instanceName(a.value)} on ${a.value.node}`).join(", ")} (node draining) for ${this.app.drainMs / 1000} s`,
      );
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

const range = (from: number, count: number): number[] =>
  Array.from({ length: count }, (_, i) => from + i);
