/**
 * The CLI for `gantry plan` and `gantry apply` (bin/gantry picks it for them): the same commands
 * as in main.ts, without loading every other command's modules first. A plan is often run in a
 * loop (CI, the drift check), and a 1,000-item plan should take well under a second, start-up
 * included (issue 11: 5x faster than Terraform's).
 */
import { processOutput, type Output } from "../output/output.js";
import { rootProgram, runProgram } from "./program.js";
import { registerStackCommands } from "./stack.js";

/** Run `gantry plan` / `gantry apply` from process argv; sets process.exitCode. */
export async function main(argv: string[], o: Output = processOutput): Promise<void> {
  const program = rootProgram(o);
  registerStackCommands(program, o);
  await runProgram(program, argv, o);
}
