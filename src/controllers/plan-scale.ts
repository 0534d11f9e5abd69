/**
 * Step 5 with its record: while a scaling (`scales/<app>`, written by `ps:scale` with the new
 * formation) runs, the formation's transitions are told in its log, what it waits for is told
 * like a deploy's (plan-wait.ts), and it ends once the current release runs the new formation —
 * or fails at the app's deploy timeout, saying why (the formation is carried on regardless, as
 * it always is). While a release deploys, the scaling waits: that deploy starts the formation.
 */
import { hasCode } from "../apps/release-code.js";
import { scaleKey } from "../apps/keys.js";
import { effectiveFormation, formationText, instanceName, sortTypes } from "../apps/formation.js";
import type { Scale } from "../model/app.js";
import { FormationPlanner } from "./plan-formation.js";
import { MAX_LOG, type Transition, type VA, type Versioned } from "./plan-types.js";
import { describeReasons, waitReason, type WaitReason } from "./plan-wait.js";

export abstract class ScalePlanner extends FormationPlanner {
  protected formation(): Transition | undefined {
    const rec = this.s.scale;
    if (rec === undefined || rec.value.status !== "running") return this.scale();
    if (this.s.deploy?.value.status === "running") return undefined;
    const t = this.scale();
    if (t !== undefined) {
      this.putScale(t, rec, { ...rec.value, log: [...rec.value.log, ...t.events] });
      return t;
    }
    return this.judgeScale(rec);
  }

  /** Nothing to start or drain now: the scaling is done, or waits (saying for what), or failed. */
  private judgeScale(rec: Versioned<Scale>): Transition | undefined {
    const scale = rec.value;
    const current = this.app.currentRelease;
    const rel = current === 0 ? undefined : this.release(current);
    if (rel === undefined || !hasCode(rel.value))
      return this.endScale(rec, ["no release runs yet: the formation applies to the next deploy"]);
    const want = effectiveFormation(this.app.formation, rel.value.processTypes);
    const running = this.runs((a) => a.release === current);
    const pending = running.filter((a) => !this.ready(a.value)).map((a) => a.value);
    const unplaced = this.unplaced(want, running);
    if (pending.length === 0 && unplaced.length === 0 && this.exactly(want, running))
      return this.endScale(rec, [`${this.app.name} runs ${formationText(want)}`]);
    const deadline = Date.parse(scale.startedAt) + this.app.deployTimeoutMs;
    if (this.s.now >= deadline) {
      const reasons = [
        ...pending.map((a) => waitReason(a, this.s, this.app.healthPath)),
        ...unplaced,
      ];
      const secs = Math.round(this.app.deployTimeoutMs / 1000);
      const why =
        reasons.length > 0
          ? describeReasons(reasons)
          : "the surplus has not drained (another change is in the way)";
      return this.endScale(rec, [], `not done within ${secs} s: ${why}`);
    }
    this.wakes.push(deadline);
    const lastLineAt = Date.parse(scale.loggedAt ?? scale.startedAt);
    const wait = this.waitNews(pending, scale.waiting, lastLineAt, unplaced);
    if (wait.line === undefined) return undefined;
    const t = this.transition(`scaling progress of ${this.app.name}`);
    this.putScale(t, rec, {
      ...scale,
      log: [...scale.log, wait.line],
      ...(wait.waiting === undefined ? {} : { waiting: wait.waiting }),
    });
    t.events.push(wait.line);
    return t;
  }

  /** Instances the formation wants that no node could take (no live node that is not drained). */
  private unplaced(want: Record<string, number>, running: VA[]): WaitReason[] {
    const out: WaitReason[] = [];
    for (const type of sortTypes(Object.keys(want)))
      for (let index = 1; index <= want[type]!; index++)
        if (!running.some((a) => a.value.processType === type && a.value.index === index))
          out.push({
            name: instanceName({ processType: type, index }),
            key: "unplaced",
            text: this.unplacedWhy ?? "no live node can take it",
            urgent: true,
          });
    return out;
  }

  /** Whether the running instances are the formation's, one per index, none more. */
  private exactly(want: Record<string, number>, running: VA[]): boolean {
    const n = Object.values(want).reduce((sum, k) => sum + k, 0);
    return (
      running.length === n &&
      running.every((a) => a.value.index <= (want[a.value.processType] ?? 0))
    );
  }

  /** The scaling ends: succeeded with `lines`, or failed for `error`. */
  private endScale(rec: Versioned<Scale>, lines: string[], error?: string): Transition {
    const failed = error !== undefined;
    const last = failed ? [`scaling failed: ${error}`] : lines;
    const t = this.transition(`scaling of ${this.app.name} ${failed ? "failed" : "done"}`);
    this.putScale(t, rec, {
      ...rec.value,
      status: failed ? "failed" : "succeeded",
      finishedAt: this.iso(),
      ...(failed ? { error } : {}),
      log: [...rec.value.log, ...last],
    });
    t.events.push(...last);
    return t;
  }

  private putScale(t: Transition, rec: Versioned<Scale>, scale: Scale): void {
    t.puts.push({
      key: scaleKey(this.app.name),
      value: { ...scale, log: scale.log.slice(-MAX_LOG), loggedAt: this.iso() },
      expect: rec.modRevision,
    });
  }
}
