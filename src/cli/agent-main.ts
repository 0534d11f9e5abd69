/**
 * The one-file agent: `gantry agent` alone, bundled by esbuild into dist/gantry-agent.mjs
 * (scripts/bundle-agent.mjs), which plain `node` ≥ 20 runs on a machine that has nothing else of
 * Gantry: `node gantry-agent.mjs agent --server … --token-file …`. The `ssh` pool provider
 * copies it to its hosts, and runs its own requests there through it (`pool-host`); `exec`
 * pools' images fetch it (docs/pools.md).
 */
import { Command, CommanderError } from "commander";
import { processOutput, type Output } from "../output/output.js";
import { registerAgentCommands } from "./agent.js";
import { reportError } from "./errors.js";

/** Run `gantry agent` from process argv; sets process.exitCode. */
export async function main(argv: string[], o: Output = processOutput): Promise<void> {
  // Not a user's command: the `ssh` pool provider's requests on a host (src/pools/ssh/host-main.ts).
  if (argv[2] === "pool-host") {
    const { hostMain } = await import("../pools/ssh/host-main.js");
    return hostMain(argv[3]);
  }
  // Not rootProgram(): it reads ../../package.json, which a lone bundle does not have beside it.
  const program = new Command("gantry")
    .description("Gantry's node agent (the one-file build: only `gantry agent`)")
    .option("--debug", "show stack traces and internal details on errors")
    .configureOutput({ writeOut: (s) => o.out(s.trimEnd()), writeErr: (s) => o.err(s.trimEnd()) })
    .exitOverride();
  registerAgentCommands(program, o);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode =
      err instanceof CommanderError ? err.exitCode : reportError(o, err, argv.includes("--debug"));
  }
}
