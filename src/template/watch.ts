import { ApiError, ConnectError } from "../client/errors.js";
import { GantryError } from "../errors.js";
import type { DataCache } from "./cache.js";
import type { Fetcher } from "./fetch.js";
import { depId, describeDep, type Dependency } from "./types.js";
import { sleep } from "../sleep.js";

export interface WatcherOptions {
  fetch: Fetcher;
  /** A dependency's value changed (not called for its first value). */
  onChange: (dep: Dependency) => void;
  /** A fetch failed in a way retrying will not fix (bad token, bad request). */
  onError: (err: unknown) => void;
  warn: (line: string) => void;
  /** How long each blocking read may wait on the server (default "60s"). */
  wait?: string;
  /** Pause between reads when the server gives no index to block on (default 1 s). */
  pollMs?: number;
}

/** Raised to pending loads when the watcher stops. */
export class WatcherStopped extends GantryError {
  constructor() {
    super("stopped", "stopped");
  }
}

interface Loop {
  dep: Dependency;
  refs: number;
  abort: AbortController;
  ready: Promise<void>;
  settle: (err?: unknown) => void;
}

/**
 * One blocking-read loop per dependency (shared by every template that reads it), writing into
 * the cache and reporting changes. No polling: each read waits on the server (?index=&wait=)
 * until something under the dependency changed.
 */
export class DependencyWatcher {
  private readonly loops = new Map<string, Loop>();
  private stopped = false;

  constructor(
    private readonly cache: DataCache,
    private readonly opts: WatcherOptions,
  ) {}

  /** Start watching a dependency (or add a reader); resolves once its first value is cached. */
  retain(dep: Dependency): Promise<void> {
    if (this.stopped) return Promise.reject(new WatcherStopped());
    const id = depId(dep);
    const existing = this.loops.get(id);
    if (existing !== undefined) {
      existing.refs++;
      return existing.ready;
    }
    let settle!: (err?: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    ready.catch(() => {}); // observed by whoever awaits it; never unhandled
    const loop: Loop = { dep, refs: 1, abort: new AbortController(), ready, settle };
    this.loops.set(id, loop);
    void this.run(loop);
    return ready;
  }

  /** Resolves once a watched dependency has its first value. */
  ready(dep: Dependency): Promise<void> {
    return this.loops.get(depId(dep))?.ready ?? Promise.reject(new WatcherStopped());
  }

  /** A reader no longer reads it; the last one stops its loop and forgets the value. */
  release(dep: Dependency): void {
    const id = depId(dep);
    const loop = this.loops.get(id);
    if (loop === undefined || --loop.refs > 0) return;
    this.loops.delete(id);
    loop.abort.abort();
    loop.settle(new WatcherStopped());
    this.cache.delete(dep);
  }

  /** How many dependencies are being watched. */
  get size(): number {
    return this.loops.size;
  }

  stop(): void {
    this.stopped = true;
    for (const loop of this.loops.values()) {
      loop.abort.abort();
      loop.settle(new WatcherStopped());
    }
    this.loops.clear();
  }

  private async run(loop: Loop): Promise<void> {
    const { signal } = loop.abort;
    let index: number | undefined;
    let failures = 0;
    let first = true;
    while (!signal.aborted) {
      try {
        const res = await this.opts.fetch(loop.dep, {
          ...(index === undefined ? {} : { index }),
          wait: this.opts.wait ?? "60s",
          signal,
        });
        if (signal.aborted) return;
        if (failures > 0) this.opts.warn(`reading ${describeDep(loop.dep)} again`);
        failures = 0;
        const changed = this.cache.set(loop.dep, res.value);
        if (first) loop.settle();
        else if (changed) this.opts.onChange(loop.dep);
        first = false;
        // Any index is fine, even one that went back (a restored store): the server answers at
        // once when it is behind and blocks from where it is.
        index = res.index;
        if (index === undefined) await sleep(this.opts.pollMs ?? 1000, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (!retryable(err)) {
          loop.settle(err);
          this.opts.onError(err);
          return;
        }
        failures++;
        if (failures === 1)
          this.opts.warn(
            `cannot read ${describeDep(loop.dep)}: ${(err as Error).message} (retrying)`,
          );
        await sleep(Math.min(10_000, 250 * 2 ** Math.min(failures, 6)), signal);
      }
    }
  }
}

/** The server is away or overloaded: worth trying again. Anything else is the caller's fault. */
function retryable(err: unknown): boolean {
  if (err instanceof ConnectError) return true;
  return err instanceof ApiError && (err.status >= 500 || err.status === 429);
}
