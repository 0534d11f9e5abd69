import { rangeSize, type PortRange } from "./port-range.js";

/**
 * The ports of one agent's instances, as data (no sockets: the agent checks a port is bindable
 * before it uses one). A port has at most one holder. It comes back only through `release`,
 * which the agent calls once its holder's process has fully stopped, and joins the back of the
 * line: the free port released longest ago (or never used) is handed out first, so a port
 * that just served one instance is the last to serve another.
 */
export class PortAllocator {
  /** Free ports of the range in the order they are handed out (a Set keeps insertion order). */
  private readonly free = new Set<number>();
  /** Ports given back, oldest first: what the agent remembers across its restarts. */
  private readonly released = new Set<number>();
  private readonly holders = new Map<number, string>();

  /**
   * `startAt`: the port to begin with (the line wraps around to the range's start), so that
   * agents sharing a machine do not all begin at its first port.
   */
  constructor(
    readonly range: PortRange,
    opts: { startAt?: number } = {},
  ) {
    const size = rangeSize(range);
    const offset =
      opts.startAt === undefined || !this.inRange(opts.startAt) ? 0 : opts.startAt - range.first;
    for (let i = 0; i < size; i++) this.free.add(range.first + ((offset + i) % size));
  }

  /** The next free port, now held by `holder`; undefined when every port is held. */
  take(holder: string): number | undefined {
    const next = this.free.values().next();
    if (next.done === true) return undefined;
    this.free.delete(next.value);
    this.released.delete(next.value);
    this.holders.set(next.value, holder);
    return next.value;
  }

  /**
   * Mark `port` as held by `holder` (an adopted instance's port; it may lie outside the range).
   * False when another holder has it.
   */
  hold(port: number, holder: string): boolean {
    const has = this.holders.get(port);
    if (has !== undefined) return has === holder;
    this.free.delete(port);
    this.released.delete(port);
    this.holders.set(port, holder);
    return true;
  }

  /** `holder` is done with `port` (its process has fully stopped): it goes to the back of the line. */
  release(port: number, holder: string): void {
    if (this.holders.get(port) !== holder) return;
    this.holders.delete(port);
    this.requeue([port]);
  }

  /**
   * Free ports go to the back of the line, in this order: ports found in use by another program,
   * and the ports released before an agent restart (oldest first).
   */
  requeue(ports: readonly number[]): void {
    for (const port of ports) {
      if (!this.inRange(port) || this.holders.has(port)) continue;
      this.free.delete(port);
      this.free.add(port);
      this.released.delete(port);
      this.released.add(port);
    }
  }

  holderOf(port: number): string | undefined {
    return this.holders.get(port);
  }

  /** How many ports are free now. */
  get freeCount(): number {
    return this.free.size;
  }

  /** The `max` ports released most recently, oldest first (for `requeue` after a restart). */
  recentlyReleased(max: number): number[] {
    const all = [...this.released];
    return all.slice(Math.max(0, all.length - max));
  }

  private inRange(port: number): boolean {
    return Number.isInteger(port) && port >= this.range.first && port <= this.range.last;
  }
}
