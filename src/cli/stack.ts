import type { Command } from "commander";
import type { Output } from "../output/output.js";
import type { ApplyFlags } from "./stack-apply.js";
import type { PlanFlags } from "./stack-plan.js";

// The engine is loaded when a stack command runs, so other commands start no slower.
const plan = () => import("./stack-plan.js");
const apply = () => import("./stack-apply.js");
const info = () => import("./stack-info.js");

/** `gantry plan`, `gantry apply`, `gantry stack:info`, `gantry stack:forget` (docs/stack.md). */
export function registerStackCommands(program: Command, o: Output): void {
  program
    .command("plan [dir]")
    .description("show what applying the stack in DIR (gantry.yaml) would change")
    .option("--out <file>", "save the plan; gantry apply FILE applies exactly it")
    .option("--detailed-exitcode", "exit 0 when nothing would change, 2 when something would")
    .option("--json", "print the plan as JSON")
    .addHelpText(
      "after",
      `
Each item gets a verb: + create, ~ update, -/+ replace, - destroy, ! orphan (managed by the
stack, gone from the spec, kept until prune: true). Sensitive values show as (sensitive).

Examples:
  $ gantry plan                         # the stack in this folder
  $ gantry plan ./platform --out tonight.plan
  $ gantry plan --detailed-exitcode || echo "changes (2) or an error (1)"
  $ gantry plan --json | jq '.summary'`,
    )
    .action(async (dir: string | undefined, opts: PlanFlags) => {
      process.exitCode = await (await plan()).runPlan(dir ?? ".", opts, o);
    });

  program
    .command("apply [target]")
    .description("apply the stack in DIR (default .), or a saved plan FILE exactly")
    .option("--auto-approve", "do not ask for confirmation")
    .option("--allow-empty", "allow an apply that destroys everything the stack manages")
    .option("--lock-timeout <duration>", "give up waiting for the stack lock after this long")
    .option("--json", "print the outcome as JSON (implies no confirmation prompt)")
    .addHelpText(
      "after",
      `
Apply plans again, asks for confirmation on a terminal, then applies in dependency order,
recording each item the stack now manages. One apply at a time: another waits for the stack
lock. A saved plan (gantry plan --out) is refused as stale if anything it read has changed.

Examples:
  $ gantry apply                        # plan, confirm, apply
  $ gantry apply ./platform --auto-approve
  $ gantry apply tonight.plan           # exactly what was reviewed, or nothing
  $ gantry apply --allow-empty          # a spec that now declares nothing, with prune: true`,
    )
    .action(async (target: string | undefined, opts: ApplyFlags) => {
      process.exitCode = await (await apply()).runApply(target ?? ".", opts, o);
    });

  program
    .command("stack:info")
    .description("the stack: its git repository, commit, state, drift, last sync and apply")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry stack:info
  $ gantry stack:info --json`,
    )
    .action(async (opts: { json?: boolean }) => {
      await (await info()).runInfo(opts, o);
    });

  program
    .command("stack:forget <item>")
    .description("stop managing KIND/NAME: its ownership record goes, the item itself stays")
    .option("--json", "print the forgotten record as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry stack:forget app/legacy
  $ gantry stack:forget kv/app/config/old-flag`,
    )
    .action(async (item: string, opts: { json?: boolean }) => {
      await (await info()).runForget(item, opts, o);
    });
}
