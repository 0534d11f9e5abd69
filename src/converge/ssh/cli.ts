/**
 * `gantry converge --inventory FILE`: every host of an inventory converged over the system
 * OpenSSH client, `forks` at a time, with live per-host progress and a recap at the end.
 * Everything that can be checked here is checked before any host is touched: the inventory,
 * the states dir (loaded and validated once), and the runner bundle.
 */
import { json, table, type Output } from "../../output/output.js";
import { isGantryError } from "../../errors.js";
import { readStatesDir } from "../files.js";
import { readInventory, type Inventory, type InventoryHost } from "../inventory.js";
import { loadStates } from "../load.js";
import type { Job, Report } from "../types.js";
import type { InventoryRunOptions } from "./cli-options.js";
import { sshControlDir } from "./control-dir.js";
import { convergeHost, type HostOutcome } from "./host.js";
import { Progress } from "./progress.js";
import { loadRunnerBundle, type RunnerBundle } from "./runner-bundle.js";

export type { InventoryRunOptions };

/** Swappable for tests and benchmarks. */
export interface InventoryDeps {
  /** The runner bundle (default dist/converge-runner.mjs). */
  runnerBundle?: string;
  /** The ssh binary (default `ssh`). */
  sshBin?: string;
}

export type HostResult = Report | { unreachable: string } | { failed: string };

export interface InventorySummary {
  hosts: number;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
}

/** Converge every selected host; resolves to the exit code (0 ok, 1 bad input, 2 a host failed). */
export async function convergeInventory(
  opts: InventoryRunOptions,
  o: Output,
  deps: InventoryDeps = {},
): Promise<number> {
  let prepared: Prepared;
  try {
    prepared = await prepare(opts, deps);
  } catch (err) {
    if (!isGantryError(err)) throw err;
    for (const line of err.message.split("\n")) o.err(`gantry: ${line}`);
    return 1;
  }
  const { inventory, jobs, runner } = prepared;
  if (jobs.length === 0) {
    o.err(
      opts.roles.length > 0
        ? `gantry: no host in ${opts.inventory} has role ${opts.roles.join(" or ")}`
        : `gantry: no host in ${opts.inventory} has roles to apply (give states, or roles in the inventory)`,
    );
    return 1;
  }

  const progress = new Progress(
    o,
    jobs.map((j) => j.host.name),
    { diff: opts.diff, quiet: opts.json },
  );
  const outcomes = new Map<string, HostOutcome>();
  const controlDir = await sshControlDir();
  try {
    await pool(jobs, opts.forks ?? 10, async ({ host, job }) => {
      const outcome = await convergeHost({
        host,
        ssh: inventory.ssh,
        controlDir,
        runner,
        job,
        become: opts.become === true || host.become,
        onEvent: (e) => progress.event(host.name, e),
        onStatus: (s) => progress.status(host.name, s),
        ...(deps.sshBin === undefined ? {} : { sshBin: deps.sshBin }),
        ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      });
      progress.status(host.name, outcomeLine(outcome));
      outcomes.set(host.name, outcome);
    });
  } finally {
    progress.close();
  }

  const names = jobs.map((j) => j.host.name);
  const summary = summarize(names.map((n) => outcomes.get(n)!));
  const uploaded = names.filter((n) => outcomes.get(n)!.uploaded);
  if (opts.json) {
    const hosts: Record<string, HostResult> = {};
    for (const n of names) hosts[n] = hostResult(outcomes.get(n)!);
    json(o, { hosts, summary, runner: { hash: runner.hash, uploaded } });
  } else {
    for (const n of names) {
      const out = outcomes.get(n)!;
      if (out.kind !== "report") o.err(`${n}: ${out.kind}: ${out.message}`);
    }
    recap(o, names, outcomes, summary, opts.check, uploaded);
  }
  return summary.failed > 0 || summary.unreachable > 0 ? 2 : 0;
}

interface Prepared {
  inventory: Inventory;
  jobs: { host: InventoryHost; job: Job }[];
  runner: RunnerBundle;
}

async function prepare(opts: InventoryRunOptions, deps: InventoryDeps): Promise<Prepared> {
  const inventory = await readInventory(opts.inventory);
  const files = readStatesDir(opts.statesDir);
  const jobs: Prepared["jobs"] = [];
  for (const host of inventory.hosts) {
    const roles =
      opts.roles.length === 0 ? host.roles : host.roles.filter((r) => opts.roles.includes(r));
    if (opts.roles.length > 0 && roles.length === 0) continue;
    if (opts.states.length === 0 && roles.length === 0) continue;
    jobs.push({
      host,
      job: {
        files,
        roles: opts.states.length > 0 ? [] : roles,
        states: opts.states,
        nodeVars: host.vars,
        extraVars: opts.extraVars,
        labels: host.labels,
        check: opts.check,
        host: host.name,
      },
    });
  }
  // Validate the states every host needs once, here, before any host is touched.
  const allRoles = [...new Set(jobs.flatMap((j) => j.job.roles))];
  if (jobs.length > 0) {
    loadStates(files, { dir: opts.statesDir, only: { roles: allRoles, states: opts.states } });
  }
  const runner = await loadRunnerBundle(deps.runnerBundle);
  return { inventory, jobs, runner };
}

/** Run `fn` over `items`, at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function outcomeLine(out: HostOutcome): string {
  if (out.kind !== "report") return out.kind;
  const s = out.report.summary;
  return `done: ${s.ok} ok, ${s.changed} changed, ${s.failed} failed, ${s.skipped} skipped`;
}

function hostResult(out: HostOutcome): HostResult {
  if (out.kind === "report") return out.report;
  return out.kind === "unreachable" ? { unreachable: out.message } : { failed: out.message };
}

/** Resource counts over every host; a host that failed before its report counts as 1 failed. */
export function summarize(outcomes: HostOutcome[]): InventorySummary {
  const s: InventorySummary = {
    hosts: outcomes.length,
    ok: 0,
    changed: 0,
    failed: 0,
    skipped: 0,
    unreachable: 0,
  };
  for (const out of outcomes) {
    if (out.kind === "unreachable") s.unreachable++;
    else if (out.kind === "failed") s.failed++;
    else {
      const r = out.report.summary;
      s.ok += r.ok;
      s.changed += r.changed;
      s.failed += r.failed;
      s.skipped += r.skipped;
    }
  }
  return s;
}

function recap(
  o: Output,
  names: string[],
  outcomes: Map<string, HostOutcome>,
  s: InventorySummary,
  check: boolean,
  uploaded: string[],
): void {
  const rows = names.map((n) => {
    const out = outcomes.get(n)!;
    if (out.kind !== "report") {
      return [
        n,
        "0",
        "0",
        out.kind === "failed" ? "1" : "0",
        "0",
        out.kind === "unreachable" ? "1" : "0",
      ];
    }
    const r = out.report.summary;
    return [n, String(r.ok), String(r.changed), String(r.failed), String(r.skipped), "0"];
  });
  o.out("");
  table(o, ["HOST", "OK", "CHANGED", "FAILED", "SKIPPED", "UNREACHABLE"], rows);
  const mode = check ? " (check mode: nothing was changed)" : "";
  const runner = uploaded.length === 0 ? "" : `; runner uploaded to ${uploaded.length}`;
  o.out(
    `${s.hosts} ${s.hosts === 1 ? "host" : "hosts"}: ${s.ok} ok, ${s.changed} changed, ${s.failed} failed, ${s.skipped} skipped, ${s.unreachable} unreachable${runner}${mode}`,
  );
}
