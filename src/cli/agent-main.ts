/**
 * The one-file agent: `gantry agent` alone, bundled by esbuild into dist/gantry-agent.mjs
 * (scripts/bundle-agent.mjs), which plain `node` ≥ 20 runs on a machine that has nothing else of
 * Gantry: `node gantry-agent.mjs agent --server … --token-file …`. The `ssh` pool provider
 * copies it to its hosts, and runs its own requests there through it (`pool-host`); `exec`
 * pools' images fetch it (docs/pools.md). It also takes `--join-file PATH`, so that a join
 * token, like a node token (`--token-file`), need not be on the command line `ps` shows.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { ValidationError } from "../errors.js";
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
    await program.parseAsync(joinFromFile(argv));
  } catch (err) {
    process.exitCode =
      err instanceof CommanderError ? err.exitCode : reportError(o, err, argv.includes("--debug"));
  }
}

/**
 * `--join-file PATH` (or `--join-file=PATH`) → `--join TOKEN`, in the argv this process parses
 * only: the kernel's copy of the command line, which `ps` shows, keeps the path.
 */
export function joinFromFile(
  argv: string[],
  read = (p: string) => readFileSync(p, "utf8"),
): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const path =
      a === "--join-file" ? argv[++i] : a.startsWith("--join-file=") ? a.slice(12) : undefined;
    if (path === undefined && a !== "--join-file") {
      out.push(a);
      continue;
    }
    if (path === undefined || path === "")
      throw new ValidationError("--join-file needs a path", "--join-file");
    let token: string;
    try {
      token = read(path).trim();
    } catch {
      throw new ValidationError(`--join-file ${path} cannot be read`, "--join-file");
    }
    if (token === "") throw new ValidationError(`--join-file ${path} is empty`, "--join-file");
    out.push("--join", token);
  }
  return out;
}
