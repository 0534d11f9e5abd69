/**
 * Converge one host over ssh: run the cached runner with the Job on stdin (one round trip when
 * the runner is there), upload it first when the host does not have it, and turn ssh's exit
 * and the runner's event lines into an outcome.
 */
import type { ConvergeEvent, Job, Report } from "../types.js";
import type { InventoryHost, SshDefaults } from "../inventory.js";
import { sshArgs } from "./argv.js";
import { runSsh } from "./exec.js";
import { formatDuration } from "../../model/duration.js";
import { lostHandlers } from "../format.js";
import {
  EXIT_NO_NODE,
  EXIT_NO_RUNNER,
  EXIT_SHORT_UPLOAD,
  EXIT_SSH,
  runCommand,
  uploadCommand,
} from "./remote.js";
import type { RunnerBundle } from "./runner-bundle.js";

export type HostOutcome =
  | { kind: "report"; report: Report; uploaded: boolean }
  | { kind: "unreachable"; message: string; uploaded: boolean }
  | { kind: "failed"; message: string; uploaded: boolean };

export interface HostRun {
  host: InventoryHost;
  ssh: SshDefaults;
  controlDir: string;
  runner: RunnerBundle;
  job: Job;
  become: boolean;
  onEvent(e: ConvergeEvent): void;
  /** "connecting", "uploading runner": for live progress. */
  onStatus(status: string): void;
  /** The ssh binary (default `ssh`). */
  sshBin?: string;
  /**
   * Give up on the host after this long (ms; upload and run together): the runner's lifeline is
   * cut, so the run stops on the host too, and ssh is killed if it does not end soon after.
   */
  timeoutMs?: number;
  /** How long ssh may take to end once the lifeline is cut (default 10 s). */
  killAfterMs?: number;
}

/** Converge one host; never rejects for a host's own problems (those are outcomes). */
export async function convergeHost(r: HostRun): Promise<HostOutcome> {
  const deadline = new AbortController();
  const timer =
    r.timeoutMs === undefined ? undefined : setTimeout(() => deadline.abort(), r.timeoutMs);
  try {
    const outcome = await attempt(r, deadline.signal);
    if (!deadline.signal.aborted || outcome.kind === "unreachable") return outcome;
    const after = formatDuration(r.timeoutMs!);
    const how =
      outcome.kind === "report"
        ? `the run on the host was stopped (${stoppedSummary(outcome.report)})`
        : "the host did not stop its run when told to, so ssh was killed (the run may go on there)";
    return {
      kind: "failed",
      message: `timed out after ${after}: ${how}`,
      uploaded: outcome.uploaded,
    };
  } finally {
    clearTimeout(timer);
  }
}

async function attempt(r: HostRun, deadline: AbortSignal): Promise<HostOutcome> {
  const args = sshArgs(r.host, r.ssh, r.controlDir);
  const stdin = JSON.stringify(r.job) + "\n";
  const ssh = {
    stop: deadline,
    ...(r.killAfterMs === undefined ? {} : { killAfterMs: r.killAfterMs }),
    ...(r.sshBin === undefined ? {} : { bin: r.sshBin }),
  };
  let uploaded = false;
  r.onStatus("connecting");
  for (;;) {
    let report: Report | undefined;
    let error: string | undefined;
    // The runner's lifeline: held while it runs, let go once it has said how it ended.
    const lifeline = new AbortController();
    const exit = await runSsh({
      ...ssh,
      args,
      command: runCommand(r.runner.hash, r.become),
      stdin,
      holdStdin: lifeline.signal,
      onLine(line) {
        const e = parseEvent(line);
        if (e === undefined) return;
        if (e.kind === "done") report = e.report;
        if (e.kind === "error") error = e.message;
        if (e.kind === "done" || e.kind === "error") lifeline.abort();
        r.onEvent(e);
      },
    });
    if (report !== undefined) return { kind: "report", report, uploaded };
    if (error !== undefined) return { kind: "failed", message: error, uploaded };
    if (exit.code === EXIT_SSH && !exit.stopped) {
      return { kind: "unreachable", message: lastLines(exit.stderr), uploaded };
    }
    if (exit.code === EXIT_NO_NODE) {
      const old = /gantry: node (v\S+) is too old/.exec(exit.stderr);
      const what =
        old === null ? "node not found on the host" : `node ${old[1]} on the host is too old`;
      return {
        kind: "failed",
        message: `${what} — Gantry's runner needs Node.js ≥ 20 there`,
        uploaded,
      };
    }
    if (exit.code === EXIT_NO_RUNNER && !uploaded && !deadline.aborted) {
      r.onStatus("uploading runner");
      const up = await runSsh({
        ...ssh,
        args,
        command: uploadCommand(r.runner.hash, r.runner.content.length),
        stdin: r.runner.content,
      });
      if (up.code === EXIT_SSH && !up.stopped)
        return { kind: "unreachable", message: lastLines(up.stderr), uploaded };
      if (up.code !== 0) {
        const why = up.code === EXIT_SHORT_UPLOAD ? "it arrived cut short" : `exit ${up.code}`;
        return {
          kind: "failed",
          message: `cannot upload the runner (${why}): ${lastLines(up.stderr)}`,
          uploaded,
        };
      }
      uploaded = true;
      r.onStatus("running");
      continue;
    }
    if (r.become && /^sudo: .*password/m.test(exit.stderr)) {
      return {
        kind: "failed",
        message: `sudo asks for a password — become needs passwordless sudo (NOPASSWD) for ${r.host.user ?? "the ssh user"}`,
        uploaded,
      };
    }
    return {
      kind: "failed",
      message: `the runner exited with code ${exit.code} without a report${exit.stderr.trim() === "" ? "" : `: ${lastLines(exit.stderr)}`}`,
      uploaded,
    };
  }
}

/** How far a stopped run got: "2 ok, 1 changed, 1 failed, 3 skipped; handlers not run: …". */
function stoppedSummary(report: Report): string {
  const s = report.summary;
  const lost = lostHandlers(report);
  return (
    `${s.ok} ok, ${s.changed} changed, ${s.failed} failed, ${s.skipped} skipped` +
    (lost.length === 0 ? "" : `; handlers not run, run them by hand: ${lost.join(", ")}`)
  );
}

const kinds = new Set(["start", "resource", "log", "done", "error"]);

/** One event line from the runner; anything else on stdout (a chatty shell rc) is ignored. */
export function parseEvent(line: string): ConvergeEvent | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const e = JSON.parse(line) as { kind?: unknown };
    return typeof e.kind === "string" && kinds.has(e.kind) ? (e as ConvergeEvent) : undefined;
  } catch {
    return undefined;
  }
}

function lastLines(s: string, n = 3): string {
  const lines = s
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "");
  return lines.length === 0 ? "(no message)" : lines.slice(-n).join("; ");
}
