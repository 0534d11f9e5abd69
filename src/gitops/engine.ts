/**
 * The StackSyncer over the real stack engine (src/spec): load the commit's checkout, take the
 * stack lock (so a sync and a `gantry apply` never interleave), plan, apply. Runs in the
 * server, through its own API with the applier's token, so policies and audit apply to every
 * change a sync makes exactly as to a person's `gantry apply`.
 */
import { StackClient } from "../client/stack.js";
import { ValidationError } from "../errors.js";
import { applyPlan, type ApplyResult } from "../spec/apply.js";
import { SpecLoadError, formatProblem } from "../spec/errors.js";
import { completeLine, recordLastApply } from "../spec/last-apply.js";
import type { KindContext } from "../spec/kind.js";
import { defaultRegistry } from "../spec/kinds/index.js";
import { planStack } from "../spec/live.js";
import { loadStack, type LoadedStack } from "../spec/load.js";
import { withStackLock } from "../spec/lock.js";
import type { Plan, PlannedChange } from "../spec/plan.js";
import { planText } from "../spec/render.js";
import type { KindRegistry } from "../spec/registry.js";
import {
  SpecLoadFailure,
  type DriftItem,
  type DriftRequest,
  type StackSyncer,
  type SyncRequest,
  type SyncSummary,
} from "./port.js";

const PAST: Record<string, string> = {
  create: "created",
  update: "updated",
  replace: "replaced",
  destroy: "destroyed",
};

/** The syncer the server uses. */
export function engineSyncer(registry: KindRegistry = defaultRegistry()): StackSyncer {
  return {
    sync: (req) => sync(registry, req),
    drift: (req) => drift(registry, req),
    correct: (req) => correct(registry, req),
  };
}

/**
 * Load a checkout. `${env.X}` sees no variables: the server's environment is not the
 * pusher's to read.
 */
async function load(registry: KindRegistry, dir: string): Promise<LoadedStack> {
  try {
    return await loadStack(dir, registry, { env: {} });
  } catch (err) {
    if (err instanceof SpecLoadError) throw new SpecLoadFailure(err.problems.map(formatProblem));
    if (err instanceof ValidationError) throw new SpecLoadFailure([`gantry.yaml: ${err.message}`]);
    throw err;
  }
}

function context(req: DriftRequest, stack: LoadedStack, out: (l: string) => void): KindContext {
  return {
    client: req.client,
    dir: stack.dir,
    stack: { name: stack.settings.name },
    progress: out,
    reveal: out,
    signal: req.signal,
  };
}

async function sync(registry: KindRegistry, req: SyncRequest): Promise<SyncSummary> {
  const stack = await load(registry, req.dir);
  const ctx = context(req, stack, req.out);
  ctx.reveal = req.reveal;
  const short = req.commit.slice(0, 12);
  return withStackLock(
    req.client,
    {
      what: `sync of ${short}`,
      onWait: (holder) => req.out(`-----> waiting for the stack lock held by ${holder}…`),
    },
    async (lockLost) => {
      ctx.signal = AbortSignal.any([req.signal, lockLost]);
      const { plan, snapshot } = await planStack(ctx, registry, stack);
      for (const line of planText(plan)) req.out(line);
      const stacks = new StackClient(req.client);
      let result: ApplyResult;
      try {
        result = await applyPlan(ctx, registry, plan, snapshot, {
          commit: req.commit,
          hooks: {
            onStep: (c, phase) => {
              if (phase === "done") req.out(`${c.kind} ${c.name}: ${PAST[c.action] ?? c.action}`);
            },
            onProgress: (c, line) => req.out(`  ${c.kind} ${c.name}: ${line}`),
            onReveal: (c, line) => req.reveal(`  ${c.kind} ${c.name}: ${line}`),
          },
        });
      } catch (err) {
        await lastApply(stacks, stack, req, plan, undefined, (err as Error).message);
        throw err;
      }
      await lastApply(stacks, stack, req, plan, result);
      const changed = result.created + result.updated + result.replaced + result.destroyed;
      return { line: completeLine(result), changed };
    },
  );
}

async function drift(registry: KindRegistry, req: DriftRequest): Promise<DriftItem[]> {
  const stack = await load(registry, req.dir);
  const { plan } = await planStack(
    context(req, stack, () => undefined),
    registry,
    stack,
  );
  return driftOf(plan, stack);
}

async function correct(
  registry: KindRegistry,
  req: DriftRequest & { items: DriftItem[]; out(line: string): void },
): Promise<void> {
  const stack = await load(registry, req.dir);
  const ctx = context(req, stack, req.out);
  const wanted = new Set(req.items.map((i) => `${i.kind}/${i.name}`));
  await withStackLock(req.client, { what: "drift correction" }, async (lockLost) => {
    ctx.signal = AbortSignal.any([req.signal, lockLost]);
    const { plan, snapshot } = await planStack(ctx, registry, stack);
    // Only the drifted items asked for, re-planned under the lock: one that was fixed or
    // changed in the spec meanwhile is left to the next sync.
    const changes = plan.changes.filter(
      (c) => c.drift === true && wanted.has(`${c.kind}/${c.name}`),
    );
    if (changes.length === 0) return;
    const summary = { create: 0, update: 0, replace: 0, destroy: 0, orphan: 0 };
    for (const c of changes) if (c.action !== "no-op") summary[c.action]++;
    const sub: Plan = { ...plan, changes, summary, destroysEverything: false, staleRecords: [] };
    await applyPlan(ctx, registry, sub, snapshot, {
      commit: req.commit,
      hooks: {
        onStep: (c, phase) => {
          if (phase === "done") req.out(`${c.kind} ${c.name}: corrected (${fieldList(c)})`);
        },
      },
    });
  });
}

/** The drifted items of a plan (pinned apps marked), with their drift modes. */
export function driftOf(plan: Plan, stack: LoadedStack): DriftItem[] {
  const out: DriftItem[] = [];
  for (const c of plan.changes) {
    const pinned = c.fields.some((f) => f.info === true && /pinned/.test(String(f.old ?? "")));
    const mode = c.item?.drift ?? stack.settings.drift;
    if ((c.drift === true && mode !== "off") || pinned) {
      out.push({
        kind: c.kind,
        name: c.name,
        fields: c.fields.filter((f) => f.info !== true).map((f) => f.path || "(value)"),
        mode,
        ...(pinned ? { pinned } : {}),
      });
    }
  }
  return out;
}

function fieldList(c: PlannedChange): string {
  return c.fields.map((f) => f.path || "(value)").join(", ");
}

function lastApply(
  stacks: StackClient,
  stack: LoadedStack,
  req: SyncRequest,
  plan: Plan,
  result: ApplyResult | undefined,
  message?: string,
): Promise<void> {
  const by = `git sync (${req.commit.slice(0, 12)})`;
  return recordLastApply(stacks, {
    name: stack.settings.name,
    by,
    commit: req.commit,
    result,
    message,
    plan,
  });
}
