import { CatalogClient } from "../../client/catalog.js";
import type { GantryClient } from "../../client/client.js";
import { serviceFingerprint, type Reads } from "../../converge/control-plane.js";
import type { Trigger } from "../../model/converge.js";

export interface WatchReadsOptions {
  client: GantryClient;
  reads: Reads;
  /**
   * From which revision each key is watched: the modRevision of the value the run read, or for
   * a key that did not exist the revision the run started at. Any later change triggers.
   */
  revisionOf: (key: string) => number;
  onChange: (trigger: Trigger) => void;
  log: (line: string) => void;
  signal: AbortSignal;
}

/**
 * Watch exactly what the last run read: each KV key with the watch API from the run's revision,
 * each service with blocking reads compared to what the run saw. Every change calls `onChange`;
 * watching goes on until `signal` aborts (the next run replaces the watchers).
 */
export function watchReads(opts: WatchReadsOptions): void {
  for (const key of opts.reads.keys) void watchKey(opts, key);
  for (const [name, seen] of opts.reads.services) void watchService(opts, name, seen);
}

async function watchKey(opts: WatchReadsOptions, key: string): Promise<void> {
  try {
    for await (const _batch of opts.client.kvWatch(key, {
      start: opts.revisionOf(key) + 1,
      signal: opts.signal,
    })) {
      opts.onChange({ kind: "key", key });
    }
  } catch (err) {
    if (!opts.signal.aborted)
      opts.log(`converge: cannot watch key ${key}: ${(err as Error).message}`);
  }
}

async function watchService(opts: WatchReadsOptions, name: string, seen: string): Promise<void> {
  const catalog = new CatalogClient(opts.client);
  let index: number | undefined;
  let failures = 0;
  while (!opts.signal.aborted) {
    try {
      const res = await catalog.service(name, {
        passing: true,
        ...(index === undefined ? {} : { index, wait: "30s" }),
        signal: opts.signal,
      });
      index = res.index;
      failures = 0;
      const now = serviceFingerprint(res.value);
      if (now !== seen) {
        seen = now;
        opts.onChange({ kind: "service", service: name });
      }
    } catch (err) {
      if (opts.signal.aborted) return;
      if (failures++ === 0)
        opts.log(`converge: cannot watch service ${name}: ${(err as Error).message}; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * failures)));
    }
  }
}
