/**
 * The agents' blocking query on `GET /v1/nodes/:node/assignments?index&wait`, for many agents:
 * one store watch on `assignments/` per API server and an in-memory fan-out keyed by node, so
 * 10,000 waiting agents cost one watch, and a change wakes only its node's waiters (the work per
 * change does not grow with the cluster). A waiter whose index is older than the feed's start
 * (or while the feed is down) waits on the store as before (waitForAny), so every answer stays
 * exact: a change after `index` always wakes it, at once when it already happened.
 */
import type { Store, Watch } from "../store/index.js";
import { waitForAny } from "../store/wait-for-change.js";

/** Pause before a feed whose watch failed starts again. */
const RESTART_MS = 1000;

export class AssignmentFeed {
  /** The first revision the running watch delivers (Infinity: not running). */
  private from = Infinity;
  /** Each node's last change seen by the watch (revision). */
  private readonly last = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private watch: Watch | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly closing: AbortSignal,
    private readonly prefix = "assignments/",
  ) {
    closing.addEventListener("abort", () => this.stop(), { once: true });
  }

  /** Waiting requests (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n;
  }

  /** Whether the feed runs, and the first revision it covers. */
  get startRevision(): number {
    return this.from;
  }

  /** Open the watch (once; again after a failure). */
  start(): Promise<void> {
    if (this.stopped || this.watch !== undefined) return Promise.resolve();
    this.starting ??= this.open().finally(() => (this.starting = undefined));
    return this.starting;
  }

  /**
   * Resolve as soon as something under the node's prefix changed after revision `index`, or
   * `waitMs` passed, or `stop` aborted.
   */
  async wait(node: string, index: number, waitMs: number, stop: AbortSignal): Promise<void> {
    await this.start().catch(() => undefined);
    if (stop.aborted) return;
    if (this.watch === undefined || index + 1 < this.from) {
      await waitForAny(this.store, [{ prefix: `${this.prefix}${node}/` }], index, waitMs, stop);
      return;
    }
    if ((this.last.get(node) ?? 0) > index) return;
    await new Promise<void>((resolve) => {
      let set = this.waiters.get(node);
      if (set === undefined) this.waiters.set(node, (set = new Set()));
      const mine = set;
      const done = (): void => {
        clearTimeout(timer);
        stop.removeEventListener("abort", done);
        mine.delete(done);
        if (mine.size === 0 && this.waiters.get(node) === mine) this.waiters.delete(node);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      stop.addEventListener("abort", done);
      mine.add(done);
    });
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
    this.wakeAll();
  }

  private async open(): Promise<void> {
    const rev = (await this.store.status()).revision;
    if (this.stopped) return;
    const watch = this.store.watch({ prefix: this.prefix }, { startRevision: rev + 1 });
    this.watch = watch;
    this.last.clear();
    this.from = rev + 1;
    void this.run(watch);
  }

  private async run(watch: Watch): Promise<void> {
    try {
      for await (const batch of watch) {
        const nodes = new Set<string>();
        for (const ev of batch) {
          const rest = ev.kv.key.slice(this.prefix.length);
          const slash = rest.indexOf("/");
          const node = slash < 0 ? rest : rest.slice(0, slash);
          this.last.set(node, ev.kv.modRevision);
          nodes.add(node);
        }
        for (const node of nodes) {
          const set = this.waiters.get(node);
          if (set !== undefined) for (const done of [...set]) done();
        }
      }
    } catch {
      // Compacted, unavailable or gone: waiters answer now; the feed starts again below.
    } finally {
      if (this.watch === watch) {
        this.watch = undefined;
        this.from = Infinity;
      }
      // Whoever waited may have missed a change: they answer now, with what is there.
      this.wakeAll();
      if (!this.stopped && !this.closing.aborted)
        setTimeout(() => void this.start().catch(() => undefined), RESTART_MS).unref();
    }
  }

  private wakeAll(): void {
    for (const set of [...this.waiters.values()]) for (const done of [...set]) done();
  }
}
