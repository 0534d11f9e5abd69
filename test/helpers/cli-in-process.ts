import { main } from "../../src/cli/main.js";
import type { Output } from "../../src/output/output.js";

/** Run `gantry ARGS…` in this process (no terminal): its output lines joined, and exit code. */
export async function gantry(
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o: Output = { out: (l) => out.push(l), err: (l) => err.push(l), tty: false };
  process.exitCode = undefined;
  await main(["node", "gantry", ...args], o);
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, out: out.join("\n"), err: err.join("\n") };
}
