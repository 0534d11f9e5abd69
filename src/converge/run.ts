import { isGantryError, ValidationError } from "../errors.js";
import { compile } from "./compile.js";
import { runPlan } from "./engine.js";
import { gatherFacts } from "./facts.js";
import { loadStates } from "./load.js";
import { Redactor } from "./redact.js";
import { Renderer } from "./render.js";
import { resourceTypes } from "./resources/index.js";
import type {
  ControlPlane,
  ConvergeEvent,
  Facts,
  Job,
  Report,
  ResourceResult,
  ResourceType,
  Summary,
} from "./types.js";

export interface RunOptions {
  onEvent?: (e: ConvergeEvent) => void;
  controlPlane?: ControlPlane;
  signal?: AbortSignal;
  types?: ReadonlyMap<string, ResourceType<never>>;
  /** Facts to use instead of gathering them (tests). */
  facts?: Facts;
}

/**
 * Converge one host: gather facts, load and compile the states (every problem is raised before
 * anything changes: a StateError, also sent as an `error` event), run the steps and handlers,
 * and resolve to the Report. Failed resources do not throw: see `report.summary.failed`.
 *
 * Everything reachable from here is bundled into the SSH runner: node builtins, zod, yaml,
 * nunjucks and pure code only.
 */
export async function runJob(job: Job, opts: RunOptions = {}): Promise<Report> {
  const startedAt = new Date();
  const started = performance.now();
  const emit = (e: ConvergeEvent): void => opts.onEvent?.(e);
  const types = opts.types ?? resourceTypes;
  const redactor = new Redactor();
  const signal = opts.signal ?? new AbortController().signal;

  let prepared;
  try {
    if (job.roles.length === 0 && job.states.length === 0)
      throw new ValidationError("give the roles (via top.yaml) or the states to apply");
    const facts = opts.facts ?? (await gatherFacts({ roles: job.roles, labels: job.labels }));
    const set = loadStates(job.files, { types, only: { roles: job.roles, states: job.states } });
    // secret() reads land in the redactor's set as soon as they are read.
    const renderer = new Renderer({
      facts,
      controlPlane: opts.controlPlane,
      secrets: redactor.secrets,
    });
    const plan = await compile(set, {
      roles: job.roles,
      states: job.states,
      nodeVars: job.nodeVars,
      extraVars: job.extraVars,
      facts,
      controlPlane: opts.controlPlane,
      types,
      renderer,
    });
    for (const s of plan.secrets) redactor.add(s);
    prepared = { facts, plan, renderer };
  } catch (err) {
    const code = isGantryError(err) ? err.code : "runner_failed";
    const message = redactor.redact(err instanceof Error ? err.message : String(err));
    emit({ kind: "error", host: job.host, message, code });
    throw err;
  }

  const { facts, plan, renderer } = prepared;
  emit({
    kind: "start",
    host: job.host,
    steps: plan.steps.length + plan.skipped.length,
    check: job.check,
  });
  const resources = await runPlan(plan, {
    check: job.check,
    facts,
    files: job.files,
    types,
    renderer,
    redactor,
    controlPlane: opts.controlPlane,
    signal,
    onResult: (result) => emit({ kind: "resource", host: job.host, result }),
    onLog: (id, line) => emit({ kind: "log", host: job.host, id, line }),
  });
  const report: Report = {
    host: job.host,
    check: job.check,
    summary: summarize(resources),
    resources,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
  };
  emit({ kind: "done", host: job.host, report });
  return report;
}

/** Count results by status. */
export function summarize(results: readonly ResourceResult[]): Summary {
  const s: Summary = { ok: 0, changed: 0, failed: 0, skipped: 0 };
  for (const r of results) s[r.status]++;
  return s;
}
