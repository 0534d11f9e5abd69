import type { ConvergeEvent, Report, ResourceResult } from "./types.js";

export interface Style {
  bold: (s: string) => string;
  dim: (s: string) => string;
  red: (s: string) => string;
  green: (s: string) => string;
}

const plain: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s };

/** `changed  file:/etc/app.conf  create, mode 0600 → 0644` — one line per result. */
export function resultLine(r: ResourceResult, check: boolean, style: Style = plain): string {
  const label =
    r.status === "changed" && check ? "would change" : r.status === "ok" ? "ok" : r.status;
  const colour =
    r.status === "failed" ? style.red : r.status === "changed" ? style.green : style.dim;
  const what = r.status === "changed" ? r.changes.join(", ") : (r.message ?? "");
  const handler = r.handler ? " (handler)" : "";
  return `${colour(label.padEnd(12))} ${style.bold(r.id)}${handler}${what === "" ? "" : `  ${what}`}`;
}

/** A diff indented under its result line. */
export function diffLines(diff: string): string[] {
  return diff
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => `    ${l}`);
}

/** `node-1: 2 changed, 1 failed, 0 skipped, 10 ok in 1.2s`. */
export function summaryLine(report: Report, style: Style = plain): string {
  const s = report.summary;
  const changed = report.check ? `${s.changed} would change` : `${s.changed} changed`;
  const failed = s.failed > 0 ? style.red(`${s.failed} failed`) : `${s.failed} failed`;
  const check = report.check ? " (check mode: nothing was changed)" : "";
  return `${report.host}: ${changed}, ${failed}, ${s.skipped} skipped, ${s.ok} ok in ${seconds(report.durationMs)}${check}`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Handlers a stopped run skipped: the changes that notified them happened, and the next run will
 * not notify them again.
 */
export function lostHandlers(report: Report): string[] {
  return report.resources.filter((r) => r.handler && r.status === "skipped").map((r) => r.id);
}

export interface PrinterOptions {
  /** Show diffs under changed resources. */
  diff: boolean;
  /** Show ok resources too. */
  verbose: boolean;
  /** Prefix lines with `[n/N]` (a terminal). */
  progress: boolean;
  style?: Style;
}

/**
 * Human output of a run as it happens: a line per resource that changed, failed or was
 * skipped (ok ones only when verbose), its diff with --diff, and live log lines.
 */
export function printer(
  write: (line: string) => void,
  opts: PrinterOptions,
): (e: ConvergeEvent) => void {
  const style = opts.style ?? plain;
  let total = 0;
  let seen = 0;
  let check = false;
  return (e) => {
    if (e.kind === "start") {
      total = e.steps;
      check = e.check;
      return;
    }
    if (e.kind === "log") {
      if (opts.verbose) write(style.dim(`             ${e.id}: ${e.line}`));
      return;
    }
    if (e.kind !== "resource") return;
    seen++;
    const r = e.result;
    if (r.status === "ok" && !opts.verbose) return;
    const counter = opts.progress ? style.dim(`[${seen}/${Math.max(total, seen)}] `) : "";
    write(counter + resultLine(r, check, style));
    if (opts.diff && r.diff !== undefined) for (const l of diffLines(r.diff)) write(l);
  };
}
