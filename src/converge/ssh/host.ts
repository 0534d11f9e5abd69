/**
 * Converge one host over ssh: run the cached runner with the Job on stdin (one round trip when
 * the runner is there), upload it first when the host does not have it, and turn ssh's exit
 * and the runner's event lines into an outcome.
 */
import type { ConvergeEvent, Job, Report } from "../types.js";
import type { InventoryHost, SshDefaults } from "../inventory.js";
import { sshArgs } from "./argv.js";
import { runSsh } from "./exec.js";
import { EXIT_NO_NODE, EXIT_NO_RUNNER, EXIT_SSH, runCommand, uploadCommand } from "./remote.js";
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
}

/** Converge one host; never rejects for a host's own problems (those are outcomes). */
export async function convergeHost(r: HostRun): Promise<HostOutcome> {
  const args = sshArgs(r.host, r.ssh, r.controlDir);
  const stdin = JSON.stringify(r.job);
  let uploaded = false;
  r.onStatus("connecting");
  for (;;) {
    let report: Report | undefined;
    let error: string | undefined;
    const exit = await runSsh({
      args,
      command: runCommand(r.runner.hash, r.become),
      stdin,
      ...(r.sshBin === undefined ? {} : { bin: r.sshBin }),
      onLine(line) {
        const e = parseEvent(line);
        if (e === undefined) return;
        if (e.kind === "done") report = e.report;
        if (e.kind === "error") error = e.message;
        r.onEvent(e);
      },
    });
    if (report !== undefined) return { kind: "report", report, uploaded };
    if (error !== undefined) return { kind: "failed", message: error, uploaded };
    if (exit.code === EXIT_SSH) {
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
    if (exit.code === EXIT_NO_RUNNER && !uploaded) {
      r.onStatus("uploading runner");
      const up = await runSsh({
        args,
        command: uploadCommand(r.runner.hash),
        stdin: r.runner.content,
        ...(r.sshBin === undefined ? {} : { bin: r.sshBin }),
      });
      if (up.code === EXIT_SSH)
        return { kind: "unreachable", message: lastLines(up.stderr), uploaded };
      if (up.code !== 0) {
        return {
          kind: "failed",
          message: `cannot upload the runner (exit ${up.code}): ${lastLines(up.stderr)}`,
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
