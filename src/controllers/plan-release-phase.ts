/**
 * The release phase (issue 15), a part of the deploy planner (deploy-plan.ts): a release whose
 * process types have `release` (a Procfile `release:` line, e.g. migrations) runs that command
 * once, as a one-off of the release with the release's config, before any instance of it
 * starts. It succeeds → the deploy goes on and places the formation; it fails (a non-zero exit,
 * a start the agent will not retry, its node lost, the app's `releaseTimeoutMs`) → the release
 * and its deploy fail and the release that serves keeps serving.
 *
 * Its start is one guarded step (the one-off's assignment and `releasePhase: running` in one
 * transaction), so several controllers never run it twice for one release. The one-off is then
 * a one-off like any other: the planner removes it a minute after it ended.
 *
 * Its output reaches the pusher through the deploy's progress: when it ends, its last lines
 * (what the agent reports in the instance status, up to 20) are copied into the deploy log,
 * which `deploys/current?follow` streams. Following the app log (source `release.<n>`) instead
 * would stream it live, but logs are files on the server the agent ships to — with several
 * servers the pusher's server may never see them — while the deploy record is in the store
 * every server reads; the whole output stays in `gantry logs APP --ps release.<n>`.
 */
import { instanceName } from "../apps/formation.js";
import { assignmentKey } from "../apps/keys.js";
import { oneoffAssignment } from "../apps/oneoff-assignment.js";
import { assignmentCode } from "../apps/release-code.js";
import {
  releaseKey,
  RELEASE_TIMEOUT_MS,
  type Assignment,
  type Deploy,
  type InstanceStatus,
  type Release,
} from "../model/app.js";
import { ScalePlanner } from "./plan-scale.js";
import type { Transition, VA, Versioned } from "./plan-types.js";
import { waitReason, type WaitReason } from "./plan-wait.js";

export type ReleasePhase = NonNullable<Release["releasePhase"]>;

/** The process type whose command is a release's release phase. */
export const RELEASE_TYPE = "release";

export abstract class ReleasePhasePlanner extends ScalePlanner {
  /** Fail a deploy: its new instances go, the release is failed with `reason`. */
  protected abstract fail(
    deploy: Deploy,
    rel: Versioned<Release> | undefined,
    news: VA[],
    reason: string,
  ): Transition;

  /** Place a release's formation, its deploy going on with `lines` told first. */
  protected abstract startFormation(
    rel: Versioned<Release>,
    deploy: Deploy,
    lines: string[],
    summary: string,
  ): Transition;

  /**
   * A pending release with a release command: start its one-off (the release `deploying`, its
   * `releasePhase` running, the deploy saying so), instead of its instances.
   */
  protected startReleasePhase(
    pending: Versioned<Release>,
    deploy: Deploy,
    lines: string[],
  ): Transition | undefined {
    const rel = pending.value;
    const command = rel.processTypes[RELEASE_TYPE];
    if (command === undefined || rel.releasePhase !== undefined) return undefined;
    const running = [
      ...this.s.others,
      ...this.s.assignments.filter((a) => a.value.desired === "running").map((a) => a.value),
    ];
    const nodes = this.s.nodes.filter((n) => !this.s.draining.has(n));
    const a = oneoffAssignment({
      app: this.app.name,
      rec: this.app,
      running,
      nodes,
      spec: {
        processType: RELEASE_TYPE,
        release: rel.version,
        command,
        ...assignmentCode(rel, this.app),
      },
      createdAt: this.iso(),
      suffix: this.opts.suffix(),
    });
    if (a === undefined) {
      const started = { ...deploy, log: [...deploy.log, ...lines] };
      return this.fail(started, pending, [], "no live node to run the release phase on");
    }
    const name = instanceName(a);
    const phase: ReleasePhase = {
      status: "running",
      command,
      startedAt: this.iso(),
      instance: name,
    };
    const t = this.transition(`start the release phase of v${rel.version}`);
    t.puts.push(
      { key: assignmentKey(a.node, a.id), value: a, expect: 0 },
      {
        key: releaseKey(this.app.name, rel.version),
        value: { ...rel, status: "deploying", releasePhase: phase },
        expect: pending.modRevision,
      },
    );
    const secs = Math.round(this.timeoutMs() / 1000);
    const told = [
      ...lines,
      `running the release phase: ${command} (${name} on ${a.node})`,
      `no instance of v${rel.version} starts before it ends well (time limit ${secs} s)`,
    ];
    this.putDeploy(t, { ...deploy, log: [...deploy.log, ...told] });
    t.events.push(...told);
    return t;
  }

  /** A deploy whose release phase runs: how it went, or what it waits for. */
  protected judgeReleasePhase(deploy: Deploy, rel: Versioned<Release>): Transition | undefined {
    const ph = rel.value.releasePhase;
    if (ph?.status !== "running") return undefined;
    const name = ph.instance ?? RELEASE_TYPE;
    const a = this.phaseAssignment(rel.value.version);
    const ended = (fields: Partial<ReleasePhase>, out: InstanceStatus | undefined) => {
      const done: ReleasePhase = { ...ph, ...fields, finishedAt: this.iso() };
      const output = (out?.lastOutput ?? []).map((l) => `${name}: ${l}`);
      return {
        rel: { value: { ...rel.value, releasePhase: done }, modRevision: rel.modRevision },
        deploy: { ...deploy, log: [...deploy.log, ...output] },
        output,
      };
    };
    // fail() stops the one-off if it still runs (a time limit reached).
    const failed = (reason: string, inst?: InstanceStatus): Transition => {
      const code = inst?.exitCode;
      const e = ended(
        { status: "failed", error: reason, ...(code === undefined ? {} : { exitCode: code }) },
        inst,
      );
      return this.fail(e.deploy, e.rel, [], reason);
    };
    if (a === undefined)
      return failed(`release phase failed: ${name} is gone (its assignment was removed)`);
    const inst = this.s.instances.get(a.value.id);
    const last = lastLine(inst);
    if (inst?.state === "exited") {
      if (inst.exitCode === 0) {
        const e = ended({ status: "succeeded", exitCode: 0 }, inst);
        const took = Math.round((this.s.now - Date.parse(ph.startedAt)) / 1000);
        const line = `the release phase succeeded (${name}, ${took} s)`;
        return this.startFormation(
          e.rel,
          e.deploy,
          [line],
          `v${rel.value.version}'s release phase succeeded`,
        );
      }
      const how =
        inst.exitCode === null || inst.exitCode === undefined
          ? "killed by a signal"
          : `exit ${inst.exitCode}`;
      return failed(`release phase failed (${how})${last}`, inst);
    }
    if (inst?.state === "crashed" && inst.restartAt === undefined)
      return failed(`release phase failed: ${name} could not be started${last}`, inst);
    if (inst?.state === "stopped")
      return failed(`release phase failed: ${name} was stopped${last}`, inst);
    if (this.lost(a.value))
      return failed(
        `release phase failed: ${name} was running on node ${a.value.node}, which went down; how it ended is unknown`,
      );
    const deadline = Date.parse(ph.startedAt) + this.timeoutMs();
    if (this.s.now >= deadline)
      return failed(
        `release phase timed out: ${name} did not finish within ${Math.round(this.timeoutMs() / 1000)} s, so it was stopped`,
      );
    this.wakes.push(deadline);
    const lastLineAt = Date.parse(deploy.loggedAt ?? deploy.startedAt);
    const wait = this.waitNews([], deploy.waiting, lastLineAt, [this.phaseReason(a.value, inst)]);
    if (wait.line === undefined) return undefined;
    const t = this.transition(`progress of v${deploy.release}'s release phase`);
    this.putDeploy(t, {
      ...deploy,
      log: [...deploy.log, wait.line],
      loggedAt: this.iso(),
      ...(wait.waiting === undefined ? {} : { waiting: wait.waiting }),
    });
    t.events.push(wait.line);
    return t;
  }

  /**
   * A release whose deploy ended otherwise (abandoned: its push did not complete) while its
   * phase ran: the phase failed too, with that reason (fail() stopped its one-off).
   */
  protected endPhaseOf(t: Transition, rel: Versioned<Release>, reason: string): void {
    const ph = rel.value.releasePhase;
    if (ph?.status !== "running") return;
    t.puts.push({
      key: releaseKey(this.app.name, rel.value.version),
      value: {
        ...rel.value,
        releasePhase: { ...ph, status: "failed", finishedAt: this.iso(), error: reason },
      },
      expect: rel.modRevision,
    });
  }

  /**
   * The one-off of a release phase being judged: kept past the minute finished one-offs get
   * (the deploy decides about it first).
   */
  protected judgedPhase(a: Assignment): boolean {
    if (a.kind !== "oneoff" || a.processType !== RELEASE_TYPE) return false;
    return this.release(a.release)?.value.releasePhase?.status === "running";
  }

  /**
   * A release phase's one-off still going is stopped (its deploy failed: a time limit, an
   * abandoned release); the agent stops it, and it goes like a finished one-off.
   */
  protected stopPhase(t: Transition, version: number): void {
    const a = this.phaseAssignment(version);
    if (a === undefined || a.value.desired !== "running") return;
    const inst = this.s.instances.get(a.value.id);
    const ended =
      inst?.state === "exited" ||
      inst?.state === "stopped" ||
      (inst?.state === "crashed" && inst.restartAt === undefined);
    if (ended) return;
    t.puts.push({
      key: assignmentKey(a.value.node, a.value.id),
      value: { ...a.value, desired: "stopped" },
      expect: a.modRevision,
    });
  }

  private phaseAssignment(version: number): VA | undefined {
    return this.s.assignments.find(
      (a) =>
        a.value.kind === "oneoff" &&
        a.value.processType === RELEASE_TYPE &&
        a.value.release === version,
    );
  }

  private timeoutMs(): number {
    return this.app.releaseTimeoutMs ?? RELEASE_TIMEOUT_MS;
  }

  /** What the phase waits for: its one-off to be started, then to end. */
  private phaseReason(a: Assignment, inst: InstanceStatus | undefined): WaitReason {
    if (
      inst?.startedAt === undefined ||
      (inst.state !== "running" && inst.state !== "starting") ||
      inst.restartAt !== undefined ||
      !this.s.nodes.includes(a.node)
    )
      return waitReason(a, this.s, this.app.healthPath);
    const secs = Math.max(0, Math.round((this.s.now - Date.parse(inst.startedAt)) / 1000));
    return {
      name: instanceName(a),
      key: "running",
      text: `running on ${a.node} (${secs} s)`,
      urgent: false,
    };
  }
}

/** `: <the last line of output>` (or nothing). */
function lastLine(inst: InstanceStatus | undefined): string {
  const last = inst?.lastOutput
    .filter((l) => l.trim() !== "")
    .at(-1)
    ?.trim();
  return last === undefined ? "" : `: ${last.length > 200 ? `${last.slice(0, 199)}…` : last}`;
}
