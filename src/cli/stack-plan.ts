import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { GantryClient } from "../client/client.js";
import { StackClient } from "../client/stack.js";
import type { KindContext } from "../spec/kind.js";
import { defaultRegistry } from "../spec/kinds/index.js";
import { planStack, type RecordsRead } from "../spec/live.js";
import { loadStack, STACK_FILE } from "../spec/load.js";
import { hasChanges, planJson, planText } from "../spec/render.js";
import { clientFromEnv } from "./config.js";
import { colours, json, type Output } from "../output/output.js";

export interface PlanFlags {
  out?: string;
  detailedExitcode?: boolean;
  json?: boolean;
}

/** `gantry plan [DIR]`: load, read the platform, print the plan; returns the exit code. */
export async function runPlan(dir: string, flags: PlanFlags, o: Output): Promise<number> {
  const registry = defaultRegistry();
  const records = readRecordsEarly();
  // `gantry plan path/gantry.yaml` means its folder.
  const stack = await loadStack(basename(dir) === STACK_FILE ? dirname(dir) : dir, registry);
  const client = clientFromEnv();
  const ctx = kindContext(client, stack.dir, o, stack.settings.name);
  const { plan, snapshot } = await planStack(ctx, registry, stack, records);
  if (flags.out !== undefined) {
    // Loaded only here: its schema is not worth building for every plan.
    const { savePlan } = await import("../spec/saved-plan.js");
    const saved = savePlan(stack, snapshot, plan, await gitCommit(stack.dir));
    await writeFile(flags.out, JSON.stringify(saved, null, 2) + "\n", { mode: 0o600 });
  }
  if (flags.json) json(o, planJson(plan));
  else {
    for (const line of planText(plan, colours(o))) o.out(line);
    if (flags.out !== undefined)
      o.out(`\nSaved the plan to ${flags.out}: gantry apply ${flags.out} applies exactly this.`);
  }
  return flags.detailedExitcode === true && hasChanges(plan) ? 2 : 0;
}

/**
 * The ownership records do not depend on the spec: their read starts while gantry.yaml loads,
 * so the server answers it meanwhile (~0.03 s of a 1,000-item plan). A folder that does not load
 * fails with its own errors all the same: the answer, or the failure, is dropped unread. Apply
 * reads the records only under the stack lock.
 */
function readRecordsEarly(): RecordsRead | undefined {
  let read: RecordsRead;
  try {
    read = new StackClient(clientFromEnv()).items();
  } catch {
    return undefined; // the client's own error is reported after the load, as without this
  }
  read.catch(() => undefined);
  return read;
}

/** What kinds get while planning and applying from the CLI. */
export function kindContext(
  client: GantryClient,
  dir: string,
  o: Output,
  stack: string,
  lines: { progress?: (l: string) => void; reveal?: (l: string) => void } = {},
): KindContext {
  return {
    client,
    dir,
    stack: { name: stack },
    progress: lines.progress ?? ((l) => o.err(l)),
    reveal: lines.reveal ?? ((l) => o.out(l)),
  };
}

/** The git commit a stack folder is at, when it is a git work tree (for ownership records). */
export function gitCommit(dir: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("git", ["-C", dir, "rev-parse", "HEAD"], { timeout: 5000 }, (err, stdout) =>
      resolve(err ? undefined : stdout.trim() || undefined),
    );
  });
}
