import { readFile, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { createInterface } from "node:readline/promises";
import { StackClient } from "../client/stack.js";
import { ValidationError } from "../errors.js";
import { parseDuration } from "../model/duration.js";
import { applyPlan, assertApplicable, type ApplyResult } from "../spec/apply.js";
import { ApplyFailedError } from "../spec/errors.js";
import { completeLine, recordLastApply } from "../spec/last-apply.js";
import { defaultRegistry } from "../spec/kinds/index.js";
import { planStack, type PlanSource } from "../spec/live.js";
import { loadStack, STACK_FILE } from "../spec/load.js";
import { whoAmI, withStackLock } from "../spec/lock.js";
import type { PlannedChange } from "../spec/plan.js";
import { planJson, planText } from "../spec/render.js";
import { assertFresh, readSavedPlan, savedSource, type SavedPlan } from "../spec/saved-plan.js";
import { clientFromEnv } from "./config.js";
import { colours, json, type Output } from "../output/output.js";
import { gitCommit, kindContext } from "./stack-plan.js";

export interface ApplyFlags {
  autoApprove?: boolean;
  allowEmpty?: boolean;
  lockTimeout?: string;
  json?: boolean;
}

const PAST: Record<string, string> = {
  create: "created",
  update: "updated",
  replace: "replaced",
  destroy: "destroyed",
};

/** `gantry apply [DIR | FILE]`; returns the exit code. */
export async function runApply(
  target: string,
  flags: ApplyFlags,
  o: Output,
  confirm: (question: string) => Promise<boolean> = askOnTerminal,
): Promise<number> {
  const timeoutMs = lockTimeout(flags.lockTimeout);
  const registry = defaultRegistry();
  const client = clientFromEnv();
  let saved: SavedPlan | undefined;
  let source: PlanSource & { dir: string };
  let commit: string | undefined;
  if ((await isFile(target)) && basename(target) !== STACK_FILE) {
    saved = readSavedPlan(await readFile(target, "utf8"), target);
    source = savedSource(saved);
    commit = saved.commit;
  } else {
    source = await loadStack(basename(target) === STACK_FILE ? dirname(target) : target, registry);
    commit = await gitCommit(source.dir);
  }
  const c = colours(o);
  const revealed: { kind: string; name: string; line: string }[] = [];
  const ctx = kindContext(client, source.dir, o, source.settings.name);

  return withStackLock(
    client,
    {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      onWait: (holder) => o.err(`waiting for the stack lock held by ${holder}…`),
    },
    async (lockLost) => {
      // Ctrl-C stops the apply after the item in hand, so what was done is recorded and the
      // lock is released at once rather than when its session expires.
      const interrupted = new AbortController();
      const onInt = (): void => {
        o.err("gantry: stopping after the current item (Ctrl-C again to quit at once)…");
        interrupted.abort(
          new ValidationError("the apply was interrupted; run it again to continue"),
        );
        process.once("SIGINT", () => process.exit(130));
      };
      process.once("SIGINT", onInt);
      ctx.signal = AbortSignal.any([lockLost, interrupted.signal]);
      try {
        return await applyLocked();
      } finally {
        process.off("SIGINT", onInt);
      }
    },
  );

  async function applyLocked(): Promise<number> {
    const { plan, snapshot } = await planStack(ctx, registry, source);
    if (saved !== undefined) assertFresh(saved, snapshot, plan);
    assertApplicable(plan, flags.allowEmpty ? { allowEmpty: true } : {});
    if (!flags.json) for (const line of planText(plan, c)) o.out(line);
    const work =
      plan.summary.create + plan.summary.update + plan.summary.replace + plan.summary.destroy;
    if (
      work > 0 &&
      saved === undefined &&
      !flags.autoApprove &&
      !flags.json &&
      !(await confirm("\nApply these changes? Only 'yes' goes ahead: "))
    ) {
      o.err("Apply cancelled; nothing was changed.");
      return 1;
    }
    const stacks = new StackClient(client);
    const show = (ch: PlannedChange, line: string): void => {
      if (!flags.json) o.out(`  ${ch.kind} ${ch.name}: ${line}`);
    };
    let result: ApplyResult;
    try {
      result = await applyPlan(ctx, registry, plan, snapshot, {
        ...(flags.allowEmpty ? { allowEmpty: true } : {}),
        ...(commit === undefined ? {} : { commit }),
        hooks: {
          onStep: (ch, phase) => {
            if (phase === "done" && !flags.json)
              o.out(`${ch.kind} ${ch.name}: ${PAST[ch.action] ?? ch.action}`);
          },
          onProgress: show,
          onReveal: (ch, line) => {
            revealed.push({ kind: ch.kind, name: ch.name, line });
            show(ch, c.bold(line));
          },
        },
      });
    } catch (err) {
      if (err instanceof ApplyFailedError)
        await recordLastApply(stacks, {
          name: source.settings.name,
          by: whoAmI(),
          commit,
          message: err.message,
          plan,
        });
      throw err;
    }
    await recordLastApply(stacks, {
      name: source.settings.name,
      by: whoAmI(),
      commit,
      result,
      plan,
    });
    if (flags.json) json(o, { ...planJson(plan), applied: result, revealed });
    else o.out(`\n${completeLine(result)}`);
    return 0;
  }
}

async function isFile(target: string): Promise<boolean> {
  try {
    return (await stat(target)).isFile();
  } catch {
    return false;
  }
}

function lockTimeout(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined)
    throw new ValidationError(
      `--lock-timeout must be a duration like "30s" or "5m", got "${raw}"`,
      "--lock-timeout",
    );
  return ms;
}

/** Ask on the terminal; without one (CI, pipes) there is no one to ask, and apply goes ahead. */
async function askOnTerminal(question: string): Promise<boolean> {
  if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) return true;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // The terminal is in raw mode while asking: Ctrl-C reaches readline, not the process.
  const cancel = new AbortController();
  rl.once("SIGINT", () => cancel.abort());
  try {
    return (await rl.question(question, { signal: cancel.signal })).trim() === "yes";
  } catch {
    return false;
  } finally {
    rl.close();
  }
}
