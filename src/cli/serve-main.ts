/**
 * The CLI for the long-running commands `gantry up`, `gantry server` and `gantry router`
 * (bin/gantry picks it for them): the same commands as in main.ts, without loading every other command's modules
 * (templates, converge, YAML…), which an idle server would otherwise carry in memory for its
 * whole life (issue 3: idle RSS of `gantry up` <= 80 MB).
 */
import { processOutput, type Output } from "../output/output.js";
import { rootProgram, runProgram } from "./program.js";
import { registerRouterCommands } from "./router.js";
import { registerUpCommands } from "./up.js";

/** Run `gantry up` / `server` / `router` from process argv; sets process.exitCode. */
export async function main(argv: string[], o: Output = processOutput): Promise<void> {
  const program = rootProgram(o);
  registerUpCommands(program, o);
  registerRouterCommands(program, o);
  await runProgram(program, argv, o);
}
