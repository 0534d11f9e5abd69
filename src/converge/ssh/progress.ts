/**
 * Live progress of a converge over ssh. On a terminal: one line per host, repainted in place
 * (`web1 ▸ 37/200 file:/etc/x changed`), with changed and failed resources printed above it.
 * Off a terminal: only those lines, one per changed or failed resource, prefixed by the host.
 */
import { colours, type Output } from "../../output/output.js";
import type { ConvergeEvent, ResourceResult } from "../types.js";

interface HostLine {
  done: number;
  total: number | undefined;
  text: string;
}

const REPAINT_MS = 100;

export class Progress {
  private readonly lines = new Map<string, HostLine>();
  private readonly width: number;
  private readonly hostPad: number;
  private pending: string[] = [];
  private painted = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly o: Output,
    hosts: string[],
    private readonly opts: { diff: boolean; quiet: boolean },
  ) {
    // A terminal that reports no size (0: `script`, some CI) gets 80 columns.
    const cols = process.stdout.columns;
    this.width = cols !== undefined && cols > 20 ? cols - 1 : 79;
    const pad = Math.max(...hosts.map((h) => h.length));
    for (const h of hosts)
      this.lines.set(h.padEnd(pad), { done: 0, total: undefined, text: "waiting" });
    this.hostPad = pad;
    if (this.live) this.paint();
  }

  private get live(): boolean {
    return this.o.tty && !this.opts.quiet;
  }

  /** A short state for the host's line: "connecting", "uploading runner", "unreachable". */
  status(host: string, text: string): void {
    const l = this.line(host);
    l.text = text;
    this.schedule();
  }

  event(host: string, e: ConvergeEvent): void {
    const l = this.line(host);
    if (e.kind === "start") {
      l.total = e.steps;
      l.text = e.check ? "checking" : "running";
    } else if (e.kind === "resource") {
      l.done++;
      l.text = `${e.result.id} ${e.result.status}`;
      if (e.result.status === "changed" || e.result.status === "failed") {
        this.print(this.resourceLines(host, e.result));
      }
    } else if (e.kind === "log") {
      l.text = `${e.id}: ${e.line}`;
    } else if (e.kind === "error") {
      l.text = "error";
    }
    this.schedule();
  }

  /** Print lines (above the live block on a terminal). */
  print(lines: string[]): void {
    if (this.opts.quiet) return;
    if (!this.live) {
      for (const line of lines) this.o.out(line);
      return;
    }
    this.pending.push(...lines);
    this.schedule();
  }

  /** Paint the final state and stop repainting. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.live) this.paint();
  }

  private resourceLines(host: string, r: ResourceResult): string[] {
    const c = colours(this.o);
    const head =
      r.status === "failed"
        ? `${host}: ${r.id} ${c.red("failed")}: ${r.message ?? ""}`
        : `${host}: ${r.id} ${r.status}${r.changes.length === 0 ? "" : ` (${r.changes.join(", ")})`}`;
    const out = [head];
    if (this.opts.diff && r.diff !== undefined && r.diff !== "") {
      out.push(
        ...r.diff
          .trimEnd()
          .split("\n")
          .map((l) => `${host}:   ${l}`),
      );
    }
    return out;
  }

  private line(host: string): HostLine {
    const key = host.padEnd(this.hostPad);
    let l = this.lines.get(key);
    if (l === undefined) {
      l = { done: 0, total: undefined, text: "" };
      this.lines.set(key, l);
    }
    return l;
  }

  private schedule(): void {
    if (!this.live || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.paint();
    }, REPAINT_MS);
  }

  private paint(): void {
    const up = this.painted > 0 ? `\x1b[${this.painted}F` : "";
    const rows = this.pending.map((l) => `${l}\x1b[K`);
    this.pending = [];
    for (const [host, l] of this.lines) {
      const count = l.total === undefined ? "" : `${l.done}/${l.total} `;
      rows.push(`${`${host} ▸ ${count}${l.text}`.slice(0, this.width)}\x1b[K`);
    }
    this.painted = this.lines.size;
    this.o.out(up + rows.join("\n"));
  }
}
