import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import { registerAgentCommands } from "./agent.js";
import { reportError } from "./errors.js";
import { processOutput, type Output } from "./output.js";
import { registerKvCommands } from "./kv.js";
import { registerAppCommands } from "./apps.js";
import { registerAppConfigCommands } from "./app-config.js";
import { registerLogCommands } from "./logs.js";
import { registerPsCommands } from "./ps.js";
import { registerReleaseCommands } from "./releases.js";
import { registerRunCommands } from "./run.js";
import { registerLockCommands } from "./lock.js";
import { registerServiceCommands } from "./services.js";
import { registerStoreCommands } from "./store.js";
import { registerTemplateCommands } from "./template.js";
import { registerAuditCommands, registerTokenCommands } from "./tokens.js";
import { registerUpCommands } from "./up.js";

const require = createRequire(import.meta.url);
const { version } = require("../../package.json") as { version: string };

/** Build the `gantry` command tree; output goes through `o` so tests can capture it. */
export function buildProgram(o: Output = processOutput): Command {
  const program = new Command("gantry")
    .description("Gantry: provision, configure, discover and deploy — a platform described in git")
    .version(version, "-v, --version")
    .option("--debug", "show stack traces and internal details on errors")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (s) => o.out(s.trimEnd()), writeErr: (s) => o.err(s.trimEnd()) })
    .exitOverride();
  program.addHelpText(
    "after",
    `
Examples:
  $ gantry up                       # the platform on this machine
  $ gantry kv put app/port 8080 && gantry kv get app/port
  $ gantry tokens create ci --policy kv:app/:write

Docs: docs/ in the repository (architecture, store).`,
  );
  registerUpCommands(program, o);
  registerAgentCommands(program, o);
  registerAppCommands(program, o);
  registerAppConfigCommands(program, o);
  registerPsCommands(program, o);
  registerReleaseCommands(program, o);
  registerLogCommands(program, o);
  registerRunCommands(program, o);
  registerKvCommands(program, o);
  registerServiceCommands(program, o);
  registerLockCommands(program, o);
  registerTokenCommands(program, o);
  registerAuditCommands(program, o);
  registerStoreCommands(program, o);
  registerTemplateCommands(program, o);
  return program;
}

/** Run the CLI with process argv; sets process.exitCode. */
export async function main(argv: string[], o: Output = processOutput): Promise<void> {
  const program = buildProgram(o);
  const debug = argv.includes("--debug");
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed help, the version or the usage error.
      process.exitCode = err.exitCode;
      return;
    }
    process.exitCode = reportError(o, err, debug);
  }
}
