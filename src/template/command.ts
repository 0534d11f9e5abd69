import { spawn } from "node:child_process";
import { ValidationError } from "../errors.js";

/**
 * Split a command line into argv like a shell would split words — quotes and backslashes only.
 * No expansion, globbing, pipes or redirections: the command is spawned without a shell, so
 * data never reaches one. Shell syntax outside quotes is refused rather than passed on as
 * literal arguments; a user who wants a shell writes `sh -c '…'` themselves.
 */
export function splitCommand(line: string): string[] {
  const argv: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && i + 1 < line.length && '$`"\\\n'.includes(line[i + 1]!)) {
        const next = line[++i]!;
        if (next !== "\n") word += next;
      } else word += c;
    } else if (/\s/.test(c)) {
      if (inWord) argv.push(word);
      word = "";
      inWord = false;
    } else {
      inWord = true;
      if (c === "'" || c === '"') quote = c;
      else if (c === "\\") {
        if (i + 1 >= line.length)
          throw new ValidationError("the command ends with a lone backslash", "command");
        const next = line[++i]!;
        if (next !== "\n") word += next;
      } else if ("|&;<>()$`".includes(c)) {
        throw new ValidationError(
          `the command uses shell syntax ("${c}"), but it runs without a shell; ` +
            `quote it, or write sh -c '…' to use a shell`,
          "command",
        );
      } else word += c;
    }
  }
  if (quote !== undefined)
    throw new ValidationError(`the command has an unterminated ${quote} quote`, "command");
  if (inWord) argv.push(word);
  if (argv.length === 0) throw new ValidationError("the command is empty", "command");
  return argv;
}

export interface CommandResult {
  /** Exit code, or null when killed by a signal or when it did not start. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it did not start (e.g. not found). */
  error?: string;
  timedOut: boolean;
}

/** Run argv without a shell, its output going to ours; killed after `timeoutMs`. */
export function runCommand(argv: string[], timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "inherit", "inherit"] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, error: err.message, timedOut });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut });
    });
  });
}

/** How a command's end reads in a log line. */
export function describeResult(r: CommandResult): string {
  if (r.error !== undefined) return `did not start: ${r.error}`;
  if (r.timedOut) return `timed out and was stopped (${r.signal ?? r.code})`;
  if (r.signal !== null) return `was killed by ${r.signal}`;
  return `exited ${r.code}`;
}

export const commandSucceeded = (r: CommandResult): boolean =>
  r.code === 0 && r.error === undefined && !r.timedOut;
