import { copyFileSync, truncateSync, watch, type FSWatcher } from "node:fs";
import { open, stat } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { ApiError } from "../../client/errors.js";
import type { LogLine } from "../../client/agent-work.js";

/** Lines longer than this are cut (a runaway line must not cost unbounded memory). */
export const MAX_LINE = 8192;
/** How many output lines `ps` shows for a crashed instance. */
export const LAST_LINES = 20;

export interface TailOptions {
  /** Where to resume (bytes already read by an earlier agent); default 0. */
  offset?: number;
  onLine: (line: string) => void;
  /**
   * How often the file is looked at without being told of a change (default 250 ms while it
   * cannot be watched — not there yet, or a file system without inotify — else 5 s).
   */
  pollMs?: number;
  /** Past this size, once everything is read, the file is rotated to `<file>.1` (default 16 MiB). */
  maxBytes?: number;
}

/**
 * Follows an instance's output file (the process appends to it; the agent only reads), keeps the
 * last lines for crash reports and hands every line on. Woken by inotify (fs.watch) when the file
 * changes, with a slow poll behind it; a file that cannot be watched is polled every quarter
 * second. (Polling alone woke the agent four times a second per instance, for nothing while an
 * app is quiet — in the event loop the router serves from under `gantry up`.)
 */
export class OutputTail {
  offset: number;
  private readonly last: string[] = [];
  private partial = "";
  private decoder = new StringDecoder("utf8");
  private timer: ReturnType<typeof setTimeout> | undefined;
  private watcher: FSWatcher | undefined;
  private reading: Promise<void> = Promise.resolve();
  /** A read is queued behind the one in progress: changes meanwhile need no other. */
  private queued = false;
  private stopped = true;

  constructor(
    private readonly file: string,
    private readonly opts: TailOptions,
  ) {
    this.offset = opts.offset ?? 0;
  }

  start(): void {
    this.stopped = false;
    this.tryWatch();
    void this.read();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.unwatch();
  }

  /** The last lines read, oldest first. */
  lastLines(): string[] {
    return [...this.last];
  }

  /** Read everything written so far (and a last line without its newline) now. */
  async drain(): Promise<void> {
    await this.read();
    if (this.partial !== "") {
      this.emit(this.partial);
      this.partial = "";
    }
  }

  private tryWatch(): void {
    if (this.watcher !== undefined || this.stopped) return;
    try {
      this.watcher = watch(this.file, { persistent: false }, (event) => {
        // "rename": the file was replaced or removed; poll until it can be watched again.
        if (event === "rename") this.unwatch();
        void this.read();
      });
      this.watcher.on("error", () => this.unwatch());
    } catch {
      // not there yet, or no inotify here: polling finds it
    }
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    const every = this.opts.pollMs ?? (this.watcher === undefined ? 250 : 5000);
    this.timer = setTimeout(() => {
      this.tryWatch();
      void this.read().finally(() => this.schedule());
    }, every);
    this.timer.unref();
  }

  /** One read at a time: a change or drain during a read gets one more read after it. */
  private read(): Promise<void> {
    if (this.queued) return this.reading;
    this.queued = true;
    this.reading = this.reading
      .then(() => {
        this.queued = false;
        return this.readOnce();
      })
      .catch(() => undefined);
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    let size: number;
    try {
      size = (await stat(this.file)).size;
    } catch {
      return; // not written yet
    }
    if (size < this.offset) {
      // Truncated by someone else (noticed once it is shorter than what was read): start over.
      this.offset = 0;
      this.partial = "";
      this.decoder = new StringDecoder("utf8");
    }
    if (size > this.offset) {
      const fh = await open(this.file, "r");
      try {
        const buf = Buffer.alloc(64 * 1024);
        while (this.offset < size) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
          if (bytesRead === 0) break;
          this.offset += bytesRead;
          this.take(this.decoder.write(buf.subarray(0, bytesRead)));
        }
      } finally {
        await fh.close();
      }
    }
    const max = this.opts.maxBytes ?? 16 * 1024 * 1024;
    if (this.offset >= max && this.offset === size) this.rotate();
  }

  private take(text: string): void {
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop() ?? "";
    for (const p of parts) this.emit(p);
    if (this.partial.length > MAX_LINE) {
      this.emit(this.partial);
      this.partial = "";
    }
  }

  private emit(raw: string): void {
    const line = (raw.endsWith("\r") ? raw.slice(0, -1) : raw).slice(0, MAX_LINE);
    this.last.push(line);
    if (this.last.length > LAST_LINES) this.last.shift();
    this.opts.onLine(line);
  }

  /**
   * Keep the file bounded: copy it to `<file>.1` and truncate it. The process writes with
   * O_APPEND, so its next write lands at the new end; what it writes between the copy and the
   * truncation (a moment) is lost — the price of never signalling the app to reopen its output.
   */
  private rotate(): void {
    try {
      copyFileSync(this.file, `${this.file}.1`);
      truncateSync(this.file, 0);
      this.offset = 0;
    } catch {
      // try again after the next read
    }
  }
}

export interface ShipperOptions {
  send: (app: string, lines: LogLine[], signal: AbortSignal) => Promise<unknown>;
  log: (line: string) => void;
  /** Lines kept while the server cannot take them; the oldest go first (default 10,000). */
  maxQueued?: number;
  /** Lines per request (default 500). */
  batch?: number;
  /** How often queued lines are sent (default 250 ms). */
  flushMs?: number;
  now?: () => Date;
}

interface Queued {
  app: string;
  entry: LogLine;
}

/**
 * Ships instance output to the server in batches. Memory is bounded: while the server cannot
 * take lines, the newest `maxQueued` are kept and older ones dropped — and counted, so the app's
 * log says how many went missing where they would have been.
 */
export class LogShipper {
  private queue: Queued[] = [];
  /** Dropped lines per app and source (`app\0source`). */
  private readonly dropped = new Map<string, number>();
  private failing = false;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Flushes run one after another, so batches arrive in order. */
  private chain: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private readonly max: number;
  private started = false;
  /** A timed flush is under way (it schedules the next one itself if lines are left). */
  private sending = false;

  constructor(private readonly opts: ShipperOptions) {
    this.max = opts.maxQueued ?? 10_000;
  }

  push(app: string, source: string, line: string): void {
    this.queue.push({ app, entry: { time: this.now(), source, line } });
    this.trim();
    if (this.started && this.timer === undefined && !this.sending)
      this.schedule(this.opts.flushMs ?? 250);
  }

  /** Lines waiting to be sent. */
  get queued(): number {
    return this.queue.length;
  }

  /** Send what is queued every flushMs while there is something to send (no timer when idle). */
  start(): void {
    this.started = true;
    if (this.queue.length > 0 && this.timer === undefined) this.schedule(this.opts.flushMs ?? 250);
  }

  /**
   * Send everything queued now, for at most `ms` (e.g. a one-off's last lines before its exit is
   * reported, so whoever follows its output sees all of it). False when lines are left.
   */
  async sendNow(ms = 2000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.queue.length > 0 && Date.now() < deadline && !this.abort.signal.aborted) {
      const failuresBefore = this.failures;
      await Promise.race([this.flush(), sleep(Math.max(0, deadline - Date.now()))]);
      if (this.failures > failuresBefore) return false;
    }
    return this.queue.length === 0;
  }

  /** Stop sending; first try for at most `flushMs` to send what is queued. */
  async stop(flushMs = 1000): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.failing) await this.sendNow(flushMs);
    this.abort.abort();
  }

  private now(): string {
    return (this.opts.now?.() ?? new Date()).toISOString();
  }

  private trim(): void {
    const over = this.queue.length - this.max;
    if (over <= 0) return;
    for (const q of this.queue.splice(0, over)) {
      const key = `${q.app}\0${q.entry.source}`;
      this.dropped.set(key, (this.dropped.get(key) ?? 0) + 1);
    }
  }

  private schedule(ms: number): void {
    if (this.abort.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sending = true;
      void this.flush().finally(() => {
        this.sending = false;
        if (this.queue.length === 0 || this.timer !== undefined) return;
        const base = this.opts.flushMs ?? 250;
        this.schedule(this.failures === 0 ? base : Math.min(5000, base * 2 ** this.failures));
      });
    }, ms);
    this.timer.unref();
  }

  /** Send one batch per app of the oldest queued lines (after any flush under way). */
  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.flushOnce());
    return this.chain;
  }

  private async flushOnce(): Promise<void> {
    if (this.queue.length === 0 || this.abort.signal.aborted) return;
    const batch = this.queue.splice(0, this.opts.batch ?? 500);
    const byApp = new Map<string, LogLine[]>();
    for (const q of batch) {
      const lines = byApp.get(q.app) ?? [];
      lines.push(q.entry);
      byApp.set(q.app, lines);
    }
    const retry: Queued[] = [];
    for (const [app, lines] of byApp) {
      const notes = this.dropNotes(app);
      try {
        await this.opts.send(app, [...notes.lines, ...lines], this.abort.signal);
        notes.clear();
        if (this.failing) {
          this.failing = false;
          this.opts.log("agent: shipping logs again");
        }
        this.failures = 0;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
          // The app is gone (404) or the lines are refused: sending again cannot help.
          this.opts.log(`agent: dropped ${lines.length} log lines of ${app}: ${err.message}`);
          continue;
        }
        this.failures++;
        if (!this.failing) {
          this.failing = true;
          this.opts.log(
            `agent: cannot ship logs (${err instanceof Error ? err.message : String(err)}); ` +
              `keeping the newest ${this.max} lines and dropping older ones until the server is back`,
          );
        }
        retry.push(...lines.map((entry) => ({ app, entry })));
      }
    }
    if (retry.length > 0) {
      this.queue = [...retry, ...this.queue];
      this.trim();
    }
  }

  /** A line per source of the app saying how many of its lines were dropped. */
  private dropNotes(app: string): { lines: LogLine[]; clear: () => void } {
    const counts = [...this.dropped].filter(([k]) => k.startsWith(`${app}\0`));
    const lines = counts.map(([k, n]) => ({
      time: this.now(),
      source: k.slice(app.length + 1),
      line: `[gantry] ${n} lines of output were dropped: the control plane could not take them`,
    }));
    return {
      lines,
      clear: () => {
        // Lines dropped while this request was under way are told next time.
        for (const [k, n] of counts) {
          const left = (this.dropped.get(k) ?? 0) - n;
          if (left > 0) this.dropped.set(k, left);
          else this.dropped.delete(k);
        }
        if (lines.length > 0)
          this.opts.log(`agent: ${app}: ${lines.map((l) => l.line).join("; ")}`);
      },
    };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
