/**
 * What the logs view shows, outside React: the ring of lines, the lines held back while paused,
 * and the search's hits. Lines that arrive are appended once per animation frame (one render
 * per frame, however many lines came); a search scans the ring once and then only new lines.
 */
import { LogRing, matches, search, type LogLine } from "./log-buffer";

export class LogModel {
  readonly ring: LogRing;
  /** Arrived, appended at the next frame. */
  private pending: string[] = [];
  /** Arrived while paused (the newest `capacity`), appended on resume. */
  private held: string[] = [];
  /** How many lines arrived while paused. */
  heldCount = 0;
  paused = false;
  /** The search, lower-cased ("" shows every line). */
  query = "";
  /** Seqs of the lines that match the search; the ones before `hitsFirst` left the ring. */
  private hits: number[] = [];
  private hitsFirst = 0;
  /** Rows removed from the top of the view so far (the view keeps what is on screen in place). */
  dropped = 0;
  /** Process types seen in the log so far (`web` of web.1, `build`): the filter's choices. */
  readonly types = new Set<string>();
  /** Bumped at every change; the view renders when it moves. */
  version = 0;
  private frame = 0;
  private readonly listeners = new Set<() => void>();

  constructor(capacity = 100_000) {
    this.ring = new LogRing(capacity);
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = (): number => this.version;

  private emit(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }

  /** Lines from the stream. */
  add(raws: readonly string[]): void {
    const into = this.paused ? this.held : this.pending;
    for (const r of raws) into.push(r);
    if (this.paused) {
      this.heldCount += raws.length;
      if (this.held.length > this.ring.capacity)
        this.held.splice(0, this.held.length - this.ring.capacity);
    }
    if (this.frame === 0) this.frame = requestAnimationFrame(this.flush);
  }

  /** Append what arrived since the last frame, in one go. */
  flush = (): void => {
    this.frame = 0;
    if (this.pending.length === 0) {
      if (this.paused) this.emit(); // the "N new lines" count moved
      return;
    }
    const before = this.ring.first;
    const lines = this.ring.push(this.pending);
    this.pending = [];
    for (const l of lines) {
      const dot = l.source.indexOf(".");
      if (l.source !== "") this.types.add(dot < 0 ? l.source : l.source.slice(0, dot));
    }
    if (this.query === "") this.dropped += this.ring.first - before;
    else {
      for (const l of lines) if (matches(l, this.query)) this.hits.push(l.seq);
      this.trimHits();
    }
    this.emit();
  };

  private trimHits(): void {
    const first = this.ring.first;
    while (this.hitsFirst < this.hits.length && this.hits[this.hitsFirst]! < first) {
      this.hitsFirst++;
      this.dropped++;
    }
    if (this.hitsFirst > 50_000) {
      this.hits = this.hits.slice(this.hitsFirst);
      this.hitsFirst = 0;
    }
  }

  /** How many rows the view has. */
  get count(): number {
    return this.query === "" ? this.ring.length : this.hits.length - this.hitsFirst;
  }

  /** The line of a row. */
  lineAt(row: number): LogLine | undefined {
    const seq = this.query === "" ? this.ring.first + row : this.hits[this.hitsFirst + row];
    return seq === undefined ? undefined : this.ring.at(seq);
  }

  setQuery(q: string): void {
    const query = q.trim().toLowerCase();
    if (query === this.query) return;
    this.query = query;
    this.hits = query === "" ? [] : search(this.ring, query);
    this.hitsFirst = 0;
    this.emit();
  }

  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    if (!paused) {
      for (const r of this.held) this.pending.push(r);
      this.held = [];
      this.heldCount = 0;
      this.flush();
    } else this.emit();
  }

  /** Forget every line (a new filter reopens the stream). */
  clear(): void {
    this.pending = [];
    this.held = [];
    this.heldCount = 0;
    this.hits = [];
    this.hitsFirst = 0;
    this.ring.clear();
    this.emit();
  }

  stop(): void {
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }
}
