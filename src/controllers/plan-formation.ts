/**
 * Step 5 of the deploy planner (deploy-plan.ts): the current release's formation. Start what is
 * missing first — new instances, and instances lost with a node that died or moving off a node
 * being drained, under the same names — then hand over from draining nodes and drain the
 * surplus once everything that stays is up.
 */
import { hasCode } from "../apps/release-code.js";
import { assignmentKey } from "../apps/keys.js";
import { effectiveFormation, instanceName, sortTypes } from "../apps/formation.js";
import { lostLine, PlanBase } from "./plan-base.js";
import { LOST_BATCH, MAX_BATCH, type Transition, type VA } from "./plan-types.js";

export abstract class FormationPlanner extends PlanBase {
  // --- 5. the current release's formation ----------------------------------------------------

  protected scale(): Transition | undefined {
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
    if (rel === undefined || !hasCode(rel.value)) return undefined;
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
