import { hostname } from "node:os";
import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import { formatDuration, parseDuration } from "../model/duration.js";
import { gatherFacts } from "../converge/facts.js";
import { readStatesDir } from "../converge/files.js";
import { lostHandlers, printer, summaryLine } from "../converge/format.js";
import { runJob } from "../converge/run.js";
import type { Report } from "../converge/types.js";
import type { InventoryRunOptions } from "../converge/ssh/cli-options.js";
import { registerConvergeStatus } from "./converge-status.js";
import { colours, json, type Output } from "../output/output.js";

interface ConvergeFlags {
  local?: boolean;
  inventory?: string;
  states: string;
  role?: string[];
  check?: boolean;
  diff?: boolean;
  json?: boolean;
  extraVar?: string[];
  forks: string;
  become?: boolean;
  timeout?: string;
  verbose?: boolean;
}

// No default list: commander would print "(default: [])" in the help.
const collect = (v: string, all: string[] = []): string[] => [...all, v];

/** `gantry converge` (local, or over SSH with --inventory) and `gantry facts`. */
export function registerConvergeCommands(program: Command, o: Output): void {
  const converge = program
    .command("converge")
    .description("make nodes match the state files: locally, or over SSH with --inventory")
    .argument("[STATE...]", "states to apply (default: the states of --role in top.yaml)")
    .option("--local", "converge this machine")
    .option("--inventory <file>", "converge the hosts of an inventory over SSH")
    .option("--states <dir>", "the states dir (top.yaml and state files)", "states")
    .option("--role <role>", "apply this role's states from top.yaml (repeatable)", collect)
    .option("--check", "change nothing; report what an apply would change")
    .option("--diff", "show the diff of every file that changes")
    .option("--json", 'print {"summary":…,"resources":[…]} (one object per resource)')
    .option(
      "-e, --extra-var <k=v>",
      "a var, above all others (repeatable; or a JSON object)",
      collect,
    )
    .option("--forks <n>", "with --inventory: hosts at a time", "10")
    .option("--become", "with --inventory: run as root through sudo")
    .option(
      "--timeout <duration>",
      "stop after this long, e.g. 10m (with --inventory: per host; its run stops there too)",
    )
    .option("--verbose", "show resources that were already right, and progress logs")
    .addHelpText(
      "after",
      `
State files are YAML in the states dir; top.yaml maps roles to states. Vars, by precedence:
state defaults < role vars (top.yaml) < node vars < -e. Exit status: 0 when nothing failed,
2 when a resource failed, 1 for bad input (nothing is changed then).

Examples:
  $ gantry converge --local --states examples/states --role web --check --diff
  $ gantry converge --local --states ./states --role web
  $ gantry converge --local --states ./states nginx -e port=8080 --json
  $ gantry converge --inventory hosts.yaml --states ./states --role web --forks 20 --become
  $ gantry converge --inventory hosts.yaml --states ./states --role db --timeout 15m
  $ gantry converge status                 # what the agents did (converge by agents)

Docs: docs/converge.md`,
    )
    .action(async (states: string[], flags: ConvergeFlags) => {
      process.exitCode = await runConverge(states, flags, o);
    });
  registerConvergeStatus(converge, o);

  program
    .command("facts")
    .description("what converge knows about this machine (facts.* in states and templates)")
    .option("--json", "print the facts as JSON")
    .option("--role <role>", "include this role in facts.roles (repeatable)", collect)
    .addHelpText(
      "after",
      `
In states and templates: {{ facts.hostname }}, when: facts.init == "systemd".
Examples:
  $ gantry facts
  $ gantry facts --json | jq .distribution`,
    )
    .action(async (flags: { json?: boolean; role?: string[] }) => {
      const facts = await gatherFacts({ roles: flags.role ?? [], labels: {} });
      if (flags.json === true) return json(o, facts);
      const c = colours(o);
      for (const [k, v] of Object.entries(facts))
        o.out(`${c.bold(`${k}:`.padEnd(14))}${showFact(v) || c.dim("(none)")}`);
    });
}

/** A fact as one line: `debian 12 bookworm`, `10.0.0.5, ::1`, `zone=a`. */
function showFact(v: unknown): string {
  if (Array.isArray(v)) return v.join(", ");
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v);
    // distribution: its values read as a sentence; labels: as k=v.
    return "codename" in v
      ? entries.map(([, x]) => String(x)).join(" ")
      : entries.map(([k, x]) => `${k}=${String(x)}`).join(", ");
  }
  return String(v);
}

async function runConverge(states: string[], flags: ConvergeFlags, o: Output): Promise<number> {
  const extraVars = parseExtraVars(flags.extraVar ?? []);
  const roles = flags.role ?? [];
  const timeoutMs = flags.timeout === undefined ? undefined : parseTimeout(flags.timeout);
  if (flags.inventory !== undefined) {
    if (flags.local === true) throw new ValidationError("give --local or --inventory, not both");
    const forks = Number(flags.forks);
    if (!Number.isInteger(forks) || forks < 1)
      throw new ValidationError(
        `--forks must be a whole number ≥ 1, got "${flags.forks}"`,
        "--forks",
      );
    const opts: InventoryRunOptions = {
      inventory: flags.inventory,
      statesDir: flags.states,
      roles,
      states,
      check: flags.check === true,
      diff: flags.diff === true,
      json: flags.json === true,
      extraVars,
      forks,
      become: flags.become === true,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    };
    const { convergeInventory } = await import("../converge/ssh/cli.js");
    return convergeInventory(opts, o);
  }
  if (flags.local !== true)
    throw new ValidationError(
      "say where to converge: --local (this machine) or --inventory FILE (hosts over SSH)",
    );
  if (roles.length === 0 && states.length === 0)
    throw new ValidationError("say what to apply: --role ROLE (via top.yaml) or STATE names");

  const files = readStatesDir(flags.states);
  const c = colours(o);
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          abort.abort();
        }, timeoutMs);
  try {
    const show =
      flags.json === true
        ? undefined
        : printer((line) => o.out(line), {
            diff: flags.diff === true,
            verbose: flags.verbose === true,
            progress: o.tty,
            style: c,
          });
    const report = await runJob(
      {
        files,
        roles,
        states,
        nodeVars: {},
        extraVars,
        labels: {},
        check: flags.check === true,
        host: hostname(),
      },
      { signal: abort.signal, ...(show === undefined ? {} : { onEvent: show }) },
    );
    if (flags.json === true) json(o, { summary: report.summary, resources: report.resources });
    else o.out(summaryLine(report, c));
    if (timedOut) {
      o.err(`gantry: timed out after ${formatDuration(timeoutMs!)}: the run was stopped`);
      reportLostHandlers(report, o);
      return 2;
    }
    if (abort.signal.aborted) {
      reportLostHandlers(report, o);
      return 130;
    }
    return report.summary.failed > 0 ? 2 : 0;
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

/**
 * A stopped run reports what was left as skipped. A handler notified by a change that did happen
 * will not be notified again by the next run: say so.
 */
function reportLostHandlers(report: Report, o: Output): void {
  const lost = lostHandlers(report);
  if (lost.length > 0)
    o.err(`stopped before these handlers ran; run them by hand: ${lost.join(", ")}`);
}

/** --timeout: a duration from 1s to 24h. */
function parseTimeout(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 1000 || ms > 86_400_000)
    throw new ValidationError(
      `--timeout must be a duration from 1s to 24h, like 90s or 10m, got "${raw}"`,
      "--timeout",
    );
  return ms;
}

/** `-e k=v` (a string) or `-e '{"k": 1}'` (a JSON object); later ones win. */
export function parseExtraVars(raw: string[]): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const r of raw) {
    if (r.trimStart().startsWith("{")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(r);
      } catch {
        throw new ValidationError(`-e ${r}: not a JSON object`, "-e");
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
        throw new ValidationError(`-e ${r}: not a JSON object`, "-e");
      Object.assign(vars, parsed);
      continue;
    }
    const eq = r.indexOf("=");
    if (eq <= 0) throw new ValidationError(`-e needs NAME=VALUE, got "${r}"`, "-e");
    vars[r.slice(0, eq)] = r.slice(eq + 1);
  }
  return vars;
}
