import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import { reportError } from "./errors.js";
import type { Output } from "../output/output.js";

const require = createRequire(import.meta.url);
const { version } = require("../../package.json") as { version: string };

/** The `gantry` command itself, without subcommands: version, --debug, help and error output. */
export function rootProgram(o: Output): Command {
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
  return program;
}

/** Parse argv and run the command; sets process.exitCode. */
export async function runProgram(program: Command, argv: string[], o: Output): Promise<void> {
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
