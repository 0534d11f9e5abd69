/**
 * The logs page's data, pure: lines split from a streamed body, parsed into their columns, kept
 * in a ring of a fixed capacity (the oldest dropped), searched, and deduplicated after a
 * reconnect that resumes with `since=` the last line's time.
 */
import { stripAnsi } from "../ansi";

/** One line of `GET /v1/apps/:app/logs`: `TIME SOURCE LINE`. */
export interface LogLine {
  /** Its position in the stream (0, 1, 2…); stays the same when older lines are dropped. */
  seq: number;
  time: string;
  source: string;
  /** The line as shipped, ANSI colours included. */
  text: string;
  /** Lower-cased text without escapes, made the first time a search needs it. */
  lower?: string;
}

/** Split a streamed body into lines; a line cut between two chunks waits for its end. */
export class LineSplitter {
  private rest = "";
  push(chunk: string): string[] {
    const data = this.rest + chunk;
    const parts = data.split("\n");
    this.rest = parts.pop() ?? "";
    return parts.filter((p) => p !== "");
  }
}

/** The columns of a raw line (a line without them is all text). */
export function parseLine(raw: string, seq: number): LogLine {
  const a = raw.indexOf(" ");
  const b = a < 0 ? -1 : raw.indexOf(" ", a + 1);
  if (a < 0 || b < 0) return { seq, time: "", source: "", text: raw };
  return { seq, time: raw.slice(0, a), source: raw.slice(a + 1, b), text: raw.slice(b + 1) };
}

/** The last `capacity` lines, addressed by their seq. */
export class LogRing {
  private readonly buf: (LogLine | undefined)[];
  /** The seq of the oldest line kept. */
  first = 0;
  /** The seq the next line gets. */
  next = 0;
  /** The longest text seen (in characters), for the view's width. */
  widest = 0;

  constructor(readonly capacity = 100_000) {
    this.buf = new Array<LogLine | undefined>(capacity);
  }

  get length(): number {
    return this.next - this.first;
  }

  /** Append raw lines; returns the parsed ones. */
  push(raws: readonly string[]): LogLine[] {
    const out: LogLine[] = [];
    for (const raw of raws) {
      const line = parseLine(raw, this.next++);
      this.buf[line.seq % this.capacity] = line;
      if (line.text.length > this.widest) this.widest = line.text.length;
      out.push(line);
    }
    if (this.next - this.first > this.capacity) this.first = this.next - this.capacity;
    return out;
  }

  at(seq: number): LogLine | undefined {
    return seq >= this.first && seq < this.next ? this.buf[seq % this.capacity] : undefined;
  }

  clear(): void {
    this.buf.fill(undefined);
    this.first = this.next;
    this.widest = 0;
  }
}

/** Whether a line's text contains `q` (already lower-cased), ignoring case and escapes. */
export function matches(line: LogLine, q: string): boolean {
  line.lower ??= stripAnsi(line.text).toLowerCase();
  return line.lower.includes(q);
}

/** The seqs of the lines from `from` on that match `q`, oldest first. */
export function search(ring: LogRing, q: string, from = ring.first): number[] {
  const out: number[] = [];
  for (let s = Math.max(from, ring.first); s < ring.next; s++) {
    const line = ring.at(s);
    if (line !== undefined && matches(line, q)) out.push(s);
  }
  return out;
}

/**
 * After a reconnect with `since=` the last line's time, the server sends again the lines of that
 * very time: drop the ones already shown (as many of each as were shown), keep the rest.
 */
export class ResumeFilter {
  private time = "";
  private seen = new Map<string, number>();
  private skipping: Map<string, number> | undefined;

  /** The time to resume from: the latest line's, or undefined before any line. */
  get since(): string | undefined {
    return this.time === "" ? undefined : this.time;
  }

  /** Start filtering the lines of a new connection. */
  resume(): void {
    this.skipping = new Map(this.seen);
  }

  /** The lines of `raws` not seen before; remembers them. */
  filter(raws: readonly string[]): string[] {
    const out: string[] = [];
    for (const raw of raws) {
      const time = raw.slice(0, raw.indexOf(" "));
      if (this.skipping !== undefined) {
        const left = time === this.time ? (this.skipping.get(raw) ?? 0) : 0;
        if (left > 0) {
          this.skipping.set(raw, left - 1);
          continue;
        }
        if (time > this.time) this.skipping = undefined;
      }
      if (time > this.time) {
        this.time = time;
        this.seen = new Map();
      }
      if (time === this.time) this.seen.set(raw, (this.seen.get(raw) ?? 0) + 1);
      out.push(raw);
    }
    return out;
  }
}
