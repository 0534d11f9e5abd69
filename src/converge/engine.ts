import { StateError } from "./errors.js";
import type { TypeMap } from "./load.js";
import type { Redactor } from "./redact.js";
import { RenderFailure, type Renderer } from "./render.js";
import { onceScope } from "./once-scope.js";
import type {
  ControlPlane,
  Facts,
  Inspection,
  Plan,
  ResourceContext,
  ResourceResult,
  ResourceType,
  ResultStatus,
  Step,
} from "./types.js";

export interface EngineOptions {
  /** Check mode: inspect only, report what would change, change nothing. */
  check: boolean;
  facts: Facts;
  /** The states dir, for `source:` fields. */
  files: Record<string, string>;
  types: TypeMap;
  renderer: Renderer;
  redactor: Redactor;
  controlPlane?: ControlPlane | undefined;
  signal: AbortSignal;
  /** Each result as soon as it is known (already redacted). */
  onResult?: (r: ResourceResult) => void;
  onLog?: (id: string, line: string) => void;
}

/**
 * Run a Plan: each step is inspected (read only), then — unless in check mode — applied when it
 * differs. A step whose requirement failed is skipped; independent steps still run. Handlers
 * notified by a change run once each at the end, in the order first notified, also when a later
 * step failed. Failures do not throw: they are results.
 */
export async function runPlan(plan: Plan, opts: EngineOptions): Promise<ResourceResult[]> {
  const results: ResourceResult[] = [];
  const failed = new Set<string>(); // failed, or skipped because of a failure
  const changed = new Set<string>();
  const queued: string[] = [];
  const report = (r: ResourceResult): void => {
    const out = opts.redactor.result(r);
    results.push(out);
    if (r.status === "changed") changed.add(r.id);
    if (r.status === "failed") failed.add(r.id);
    opts.onResult?.(out);
  };
  const notify = (step: Step, r: ResourceResult): void => {
    if (r.status !== "changed") return;
    for (const h of step.notify) if (!queued.includes(h)) queued.push(h);
  };

  for (const s of plan.skipped)
    report({
      ...s,
      handler: false,
      status: "skipped",
      changes: [],
      message: s.reason,
      durationMs: 0,
    });

  const steps = plan.steps;
  for (let i = 0; i < steps.length; ) {
    const step = steps[i]!;
    const blocked = blockedBy(step, failed, changed, opts.signal);
    if (blocked !== undefined) {
      if (blocked.failure) failed.add(step.id);
      report(result(step, "skipped", { message: blocked.reason }));
      i++;
      continue;
    }
    const batch = batchFrom(steps, i, opts.types, failed, changed, opts.signal);
    const inspections = batch.length > 1 ? await inspectBatch(batch, opts) : [undefined];
    for (const [k, s] of batch.entries()) {
      const r = await runStep(s, opts, inspections[k]);
      report(r);
      notify(s, r);
    }
    i += batch.length;
  }

  // Handlers: once each, in the order first notified; a handler may notify another.
  for (let k = 0; k < queued.length; k++) {
    const h = plan.handlers.get(queued[k]!);
    if (h === undefined) continue; // its `when` was false: reported as skipped already
    if (opts.signal.aborted) {
      report(result(h, "skipped", { message: "cancelled" }));
      continue;
    }
    const r = await runStep(h, opts);
    report(r);
    notify(h, r);
  }
  return results;
}

function blockedBy(
  step: Step,
  failed: Set<string>,
  changed: Set<string>,
  signal: AbortSignal,
): { reason: string; failure: boolean } | undefined {
  if (signal.aborted) return { reason: "cancelled", failure: true };
  for (const r of [...step.require, ...step.onChanges])
    if (failed.has(r)) return { reason: `requires ${r}, which did not succeed`, failure: true };
  if (step.onChanges.length > 0 && !step.onChanges.some((r) => changed.has(r)))
    return { reason: `no change in ${step.onChanges.join(", ")}`, failure: false };
  return undefined;
}

/**
 * Adjacent steps of a type that can inspect in bulk (package: one dpkg query), with no edges
 * among them and nothing to wait for, are inspected together.
 */
function batchFrom(
  steps: Step[],
  i: number,
  types: TypeMap,
  failed: Set<string>,
  changed: Set<string>,
  signal: AbortSignal,
): Step[] {
  const first = steps[i]!;
  const type = types.get(first.type);
  if (type?.inspectBatch === undefined || !batchable(first)) return [first];
  const batch = [first];
  const ids = new Set([first.id]);
  for (let j = i + 1; j < steps.length; j++) {
    const s = steps[j]!;
    if (s.type !== first.type || !batchable(s)) break;
    if (s.require.some((r) => ids.has(r))) break;
    if (blockedBy(s, failed, changed, signal) !== undefined) break;
    batch.push(s);
    ids.add(s.id);
  }
  return batch;
}

function batchable(s: Step): boolean {
  return s.waitFor === undefined && s.onChanges.length === 0 && s.runOnce !== true;
}

async function inspectBatch(
  batch: Step[],
  opts: EngineOptions,
): Promise<(Inspection | Error | undefined)[]> {
  const type = opts.types.get(batch[0]!.type) as ResourceType<unknown>;
  try {
    const items = batch.map((s) => ({ name: s.name, props: s.props }));
    const found = await type.inspectBatch!(items, context(batch[0]!, opts));
    if (found.length !== batch.length)
      throw new Error(`${type.type}: inspectBatch returned ${found.length} of ${batch.length}`);
    return found;
  } catch (err) {
    return batch.map(() => (err instanceof Error ? err : new Error(String(err))));
  }
}

/** One step: wait for what it needs, inspect, and apply unless in check mode. */
async function runStep(
  step: Step,
  opts: EngineOptions,
  pre?: Inspection | Error,
): Promise<ResourceResult> {
  const started = performance.now();
  const done = (status: ResultStatus, more: Partial<ResourceResult> = {}): ResourceResult =>
    result(step, status, { ...more, durationMs: Math.round(performance.now() - started) });
  const cp = opts.controlPlane;
  try {
    if (pre instanceof Error) throw pre;
    if (step.waitFor !== undefined) {
      if (cp === undefined)
        return done("failed", { message: "waitFor needs a control plane (run by an agent)" });
      // Check mode waits for nothing: what it reports must not depend on other nodes' progress.
      if (!opts.check) {
        const { timeoutMs, ...target } = step.waitFor;
        await cp.waitFor(target, timeoutMs, opts.signal);
      }
    }
    const type = opts.types.get(step.type) as ResourceType<unknown> | undefined;
    if (type === undefined) throw new Error(`unknown resource type "${step.type}"`);
    const found = pre ?? (await type.inspect(step.name, step.props, context(step, opts)));
    const changes = found.changes;
    if (changes.length === 0) {
      return found.skipReason === undefined
        ? done("ok")
        : done("skipped", { message: found.skipReason });
    }
    const more: Partial<ResourceResult> = { changes };
    if (found.diff !== undefined && found.diff !== "")
      more.diff = step.secret === true ? "(diff hidden: the resource is secret)\n" : found.diff;
    if (opts.check) return done("changed", more);
    if (step.runOnce === true && cp !== undefined) {
      const ran = await cp.once(onceScope(step.state, step.id, step.props), () => found.apply());
      if (!ran) return done("skipped", { message: "runOnce: done already by another node" });
    } else {
      await found.apply();
    }
    return done("changed", more);
  } catch (err) {
    return done("failed", { message: errorMessage(err) });
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function result(
  step: Step,
  status: ResultStatus,
  more: Partial<ResourceResult> = {},
): ResourceResult {
  return {
    id: step.id,
    type: step.type,
    name: step.name,
    state: step.state,
    handler: step.handler,
    status,
    changes: [],
    durationMs: 0,
    ...more,
  };
}

/** What a resource type gets to work with. */
function context(step: Step, opts: EngineOptions): ResourceContext {
  return {
    check: opts.check,
    facts: opts.facts,
    vars: step.vars,
    signal: opts.signal,
    controlPlane: opts.controlPlane,
    source(path) {
      const text = opts.files[path];
      if (text === undefined)
        throw new StateError(step.source, `no file "${path}" in the states dir`, "source");
      return text;
    },
    async render(template, file) {
      try {
        return await opts.renderer.text(template, step.vars, file);
      } catch (err) {
        if (err instanceof RenderFailure)
          throw new StateError({ file, line: err.line ?? 1 }, err.message);
        throw err;
      }
    },
    redact: (s) => opts.redactor.redact(s),
    log: (line) => opts.onLog?.(opts.redactor.redact(step.id), opts.redactor.redact(line)),
  };
}
