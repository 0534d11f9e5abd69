/**
 * The CLI for the app commands (`apps`, `config`, `ps`, `releases`, `builds`, `logs`, `run`, `domains`;
 * bin/gantry picks it for them): the same commands as in main.ts, without loading every other
 * command's modules (templates, converge, the stack engine…). A `releases:rollback` or a
 * `config:set` is timed from the moment it is typed (issue 19: live within 5 s of the command),
 * and loading the whole CLI cost ~0.5 s of that on an idle machine, 2–3 s on a busy one.
 */
import type { Command } from "commander";
import { registerAppConfigCommands } from "./app-config.js";
import { registerAppConnectCommands } from "./apps-connect.js";
import { registerAppCommands } from "./apps.js";
import { registerBuildsCommand } from "./builds.js";
import { registerLogCommands } from "./logs.js";
import { processOutput, type Output } from "../output/output.js";
import { rootProgram, runProgram } from "./program.js";
import { registerPsCommands } from "./ps.js";
import { registerReleaseCommands } from "./releases.js";
import { registerRunCommands } from "./run.js";

/** The commands this entry serves: bin/gantry routes them here by this same pattern. */
export const APP_COMMANDS = /^(apps|domains|config|ps|releases)(:|$)|^(logs|run|builds)$/;

/** Register the app commands, in their help order (main.ts registers them the same way). */
export function registerAppCommandSet(program: Command, o: Output): void {
  registerAppCommands(program, o);
  registerAppConnectCommands(program, o);
  registerAppConfigCommands(program, o);
  registerPsCommands(program, o);
  registerReleaseCommands(program, o);
  registerBuildsCommand(program, o);
  registerLogCommands(program, o);
  registerRunCommands(program, o);
}

/** The app commands alone. */
export function buildAppsProgram(o: Output = processOutput): Command {
  const program = rootProgram(o);
  registerAppCommandSet(program, o);
  return program;
}

/** Run an app command from process argv; sets process.exitCode. */
export async function main(argv: string[], o: Output = processOutput): Promise<void> {
  await runProgram(buildAppsProgram(o), argv, o);
}
