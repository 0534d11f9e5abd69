import { EventEmitter } from "node:events";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";

/** One line of an app's log as shipped: who wrote it (`web.1`, `build`, `deploy`) and what. */
export interface LogEntry {
  source: string;
  line: string;
  /** ISO time; the server's clock when absent. */
  time?: string;
}

export interface AppLogsOptions {
  /** Rotate app.log to app.log.1 past this many bytes (default 10 MB; two files are kept). */
  maxBytes?: number;
}

/** Longest line kept (the rest is cut). */
const MAX_LINE = 8192;
const SOURCE = /^[a-z][a-z0-9_.-]{0,63}$/;

/** `DATA_DIR/logs/<app>`: app.log (and app.log.1) with lines `TIME SOURCE LINE`. */
export const appLogDir = (dataDir: string, app: string): string => join(dataDir, "logs", app);

/**
 * Per-app logs on disk, bounded, and followable. Appends are synchronous so lines keep their
 * order and a reader that takes the tail and then subscribes (in one tick) misses nothing.
 * Followers are in-memory: they see lines shipped to this server.
 */
export class AppLogs {
  private readonly events = new EventEmitter();
  private readonly sizes = new Map<string, number>();
  private readonly maxBytes: number;

  constructor(
    private readonly dataDir: () => string,
    opts: AppLogsOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
    this.events.setMaxListeners(0);
  }

  private file(app: string, rotated = false): string {
    return join(appLogDir(this.dataDir(), app), rotated ? "app.log.1" : "app.log");
  }

  /** Append entries; returns the formatted lines. */
  append(app: string, entries: readonly LogEntry[]): string[] {
    const lines: string[] = [];
    const now = new Date().toISOString();
    for (const e of entries) {
      const source = SOURCE.test(e.source) ? e.source : "unknown";
      // One time format, so lines sort and compare (`?since=`) as text.
      const at = e.time === undefined ? NaN : Date.parse(e.time);
      const time = Number.isNaN(at) ? now : new Date(at).toISOString();
      for (const part of e.line.replace(/\r\n?/g, "\n").split("\n")) {
        lines.push(`${time} ${source} ${cleanLine(part)}`);
      }
    }
    if (lines.length === 0) return lines;
    const data = lines.join("\n") + "\n";
    const path = this.file(app);
    let size = this.sizes.get(app);
    if (size === undefined) {
      mkdirSync(appLogDir(this.dataDir(), app), { recursive: true, mode: 0o700 });
      size = existsSync(path) ? statSync(path).size : 0;
    }
    if (size > 0 && size + data.length > this.maxBytes) {
      renameSync(path, this.file(app, true));
      size = 0;
    }
    appendFileSync(path, data, { mode: 0o600 });
    this.sizes.set(app, size + Buffer.byteLength(data));
    for (const l of lines) this.events.emit(app, l);
    return lines;
  }

  /** The last `n` lines (oldest first) whose source passes `filter`. */
  tail(app: string, n: number, filter: (source: string) => boolean = () => true): string[] {
    if (n <= 0) return [];
    const out: string[] = [];
    for (const path of [this.file(app), this.file(app, true)]) {
      for (const line of readLinesBackwards(path)) {
        if (!filter(sourceOf(line))) continue;
        out.push(line);
        if (out.length >= n) return out.reverse();
      }
    }
    return out.reverse();
  }

  /** Call `onLine` for every new line of the app until the returned function is called. */
  follow(app: string, onLine: (line: string) => void): () => void {
    this.events.on(app, onLine);
    return () => this.events.off(app, onLine);
  }

  /** Remove an app's logs (apps:destroy). */
  remove(app: string): void {
    this.sizes.delete(app);
    rmSync(appLogDir(this.dataDir(), app), { recursive: true, force: true });
  }
}

/* eslint-disable no-control-regex */
/** SGR colour sequences (ESC [ digits m): the only escapes a line keeps. */
const SGR = /\x1b\[[0-9;]{0,32}m/g;
/** Other escape sequences (CSI, OSC, charset) and every other control character. */
const UNSAFE =
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?|[\u0000-\u0008\u000b-\u001f\u007f]/g;

/**
 * A line as kept: colours (SGR sequences, which the dashboard draws and a terminal shows) stay;
 * cursor moves, titles and other control characters go; at most MAX_LINE characters, never
 * ending inside a sequence.
 */
export function cleanLine(part: string): string {
  if (!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(part)) return part.slice(0, MAX_LINE);
  const kept: string[] = [];
  const marked = part.replace(/\u0000/g, "").replace(SGR, (m) => `\u0000${kept.push(m) - 1}\u0000`);
  const clean = marked
    .replace(UNSAFE, (m) => (m === "\u0000" ? m : ""))
    .replace(/\u0000(\d+)\u0000/g, (_, i: string) => kept[Number(i)] ?? "");
  return clean.slice(0, MAX_LINE).replace(/\x1b[^m]*$/, "");
}
/* eslint-enable no-control-regex */

/** The source of a formatted line (its second field). */
export function sourceOf(line: string): string {
  const a = line.indexOf(" ");
  const b = line.indexOf(" ", a + 1);
  return a < 0 ? "" : line.slice(a + 1, b < 0 ? undefined : b);
}

/**
 * `--ps` filters: `web` keeps web.1, web.2…; `web.1` (or `run.3`) keeps that one; a list
 * separated by commas keeps any of them.
 */
export function sourceFilter(ps: string | undefined): (source: string) => boolean {
  if (ps === undefined || ps === "") return () => true;
  const wanted = ps.split(",").filter((p) => p !== "");
  return (source) => wanted.some((w) => source === w || source.startsWith(`${w}.`));
}

/** Lines of a file from the last to the first, reading 64 KB blocks from the end. */
function* readLinesBackwards(path: string): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return;
  }
  try {
    let pos = statSync(path).size;
    let rest = Buffer.alloc(0);
    const block = Buffer.alloc(64 * 1024);
    while (pos > 0) {
      const len = Math.min(block.length, pos);
      pos -= len;
      readSync(fd, block, 0, len, pos);
      let buf = Buffer.concat([block.subarray(0, len), rest]);
      let nl = buf.lastIndexOf(10);
      // The part before the first newline may continue in the previous block.
      while (nl >= 0) {
        const line = buf.subarray(nl + 1).toString("utf8");
        if (line !== "") yield line;
        buf = buf.subarray(0, nl);
        nl = buf.lastIndexOf(10);
      }
      rest = Buffer.from(buf);
    }
    if (rest.length > 0) yield rest.toString("utf8");
  } finally {
    closeSync(fd);
  }
}
