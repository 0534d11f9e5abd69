/**
 * The drift loop, on the controller leader: after every sync, and whenever records under the
 * managed kinds' prefixes change (a store watch, not polling), it re-plans the synced commit
 * against the live platform. Drifted items show in `stack/info` (which items, which fields);
 * with `drift: correct` they are re-applied, each with its own backoff (src/gitops/backoff.ts)
 * so Gantry never fights another writer in a tight loop; every correction is in the audit log.
 * Pinned apps are shown as pinned and left alone (the engine plans them so).
 */
import { K } from "../model/keys.js";
import { sleep } from "../sleep.js";
import { text, type Store, type TxnOp } from "../store/index.js";
import { Backoff } from "./backoff.js";
import { patchStackInfo, readInfo } from "./info.js";
import type { DriftItem } from "./port.js";
import { readGitOps } from "./records.js";
import { cacheRepoPath } from "./remote.js";
import { stackRepoPath } from "./repo.js";
import type { Applier, GitOpsService } from "./service.js";

/** What hand edits of managed items touch (kv put, config:set, ps:scale, services, tokens…). */
export const WATCHED_PREFIXES = [
  K.kv,
  K.apps,
  K.config,
  K.catalog,
  K.tokens,
  K.convergeNodes,
  K.convergeStates,
  // Pools as declared and the address plan; not their status, which the controller rewrites.
  K.poolSpecs,
  K.addressPlan,
];

export interface DriftLoopOptions {
  service: GitOpsService;
  store: Store;
  dataDir: string;
  log: (line: string) => void;
  /** Quiet time after a change before re-planning (default 200 ms). */
  debounceMs?: number;
  /** Least time between two re-plans (default 1 s): a busy store costs a plan a second at most. */
  minIntervalMs?: number;
  backoff?: Backoff;
  prefixes?: string[];
}

/** Start the loop; stop() when leadership ends. */
export function startDriftLoop(opts: DriftLoopOptions): { stop(): Promise<void> } {
  const loop = new DriftLoop(opts);
  const done = loop.run();
  return {
    stop: async () => {
      loop.abort.abort();
      await done;
    },
  };
}

class DriftLoop {
  readonly abort = new AbortController();
  private wake = new AbortController();
  private readonly backoff: Backoff;
  private corrections = 0;
  private quietLog = new Set<string>();

  constructor(private readonly opts: DriftLoopOptions) {
    this.backoff = opts.backoff ?? new Backoff();
  }

  private poke(): void {
    this.wake.abort();
  }

  async run(): Promise<void> {
    const signal = this.abort.signal;
    const off = this.opts.service.onSynced(() => this.poke());
    const watches = (this.opts.prefixes ?? WATCHED_PREFIXES).map((p) => this.watchPrefix(p));
    let wait = 0;
    let lastCheck = 0;
    while (!signal.aborted) {
      await sleep(wait, AbortSignal.any([signal, this.wake.signal]));
      if (signal.aborted) break;
      this.wake = new AbortController();
      // Let a burst of writes settle, and keep re-plans a second apart.
      await sleep(this.opts.debounceMs ?? 200, signal);
      const gap = (this.opts.minIntervalMs ?? 1000) - (Date.now() - lastCheck);
      if (gap > 0) await sleep(gap, signal);
      if (signal.aborted) break;
      lastCheck = Date.now();
      wait = await this.check().catch((err: unknown) => {
        this.say("check", `stack: drift check failed: ${(err as Error).message}`);
        return 60_000;
      });
    }
    off();
    await Promise.all(watches);
  }

  /** One re-plan (and the corrections due); answers how long until the next is due. */
  private async check(): Promise<number> {
    const { service } = this.opts;
    // Only a synced stack has a commit to hold the platform to.
    const commit = await this.syncedCommit();
    if (commit === undefined) return 3_600_000;
    const applier = await service.storedApplier();
    if (applier === undefined) {
      this.say(
        "applier",
        "stack: drift is not checked: no applier is stored (push, or stack:connect)",
      );
      return 3_600_000;
    }
    const dir = await this.checkout(commit);
    const client = service.clientFor(applier);
    // A check only reads, so it runs beside the sync queue rather than in it (a push never
    // waits for one); one that overlapped a sync is dropped: the sync pokes again when done.
    if (service.busy()) return 5000;
    const items = await service.syncer.drift({ dir, commit, client, signal: this.abort.signal });
    if (service.busy() || (await this.syncedCommit()) !== commit) return 5000;
    this.quietLog.clear();
    const now = Date.now();
    const correcting = items.filter(
      (i) => i.mode === "correct" && !i.pinned && i.fields.length > 0,
    );
    const due = correcting.filter((i) => this.backoff.due(key(i), now));
    const corrected = due.length > 0 && (await this.correct(due, dir, commit, applier));
    await this.record(items, correcting, corrected ? due : [], applier);
    const later = correcting
      .filter((i) => !due.includes(i))
      .map((i) => this.backoff.dueAt(key(i), now) - now);
    // After corrections, look again soon: did they hold?
    if (due.length > 0) later.push(500);
    return later.length === 0 ? 3_600_000 : Math.max(0, Math.min(...later));
  }

  private async correct(
    due: DriftItem[],
    dir: string,
    commit: string,
    applier: Applier,
  ): Promise<boolean> {
    const { service } = this.opts;
    const now = Date.now();
    for (const i of due) this.backoff.corrected(key(i), now);
    const client = service.clientFor(applier);
    const done = await service.offer("drift correction", (signal) =>
      service.syncer.correct({
        dir,
        commit,
        client,
        signal,
        items: due,
        out: (l) => this.opts.log(`stack: ${l}`),
      }),
    );
    if (done.status === "done") {
      this.corrections += due.length;
      return true;
    }
    if (done.status !== "superseded")
      this.say("correct", `stack: drift correction failed: ${done.error.split("\n")[0]}`);
    return false;
  }

  private async record(
    items: DriftItem[],
    correcting: DriftItem[],
    corrected: DriftItem[],
    applier: Applier,
  ): Promise<void> {
    const drifted = items.filter((i) => !i.pinned);
    const audit: TxnOp[] = corrected.map((i) =>
      this.opts.service.opts.audit.entry(
        applier,
        "stack.drift.correct",
        `${i.kind}/${i.name}: ${i.fields.join(", ")}`,
      ),
    );
    await patchStackInfo(
      this.opts.store,
      {
        drift: {
          checkedAt: new Date().toISOString(),
          items: drifted.map(key),
          fields: Object.fromEntries(drifted.map((i) => [key(i), i.fields.slice(0, 100)])),
          correcting: correcting.map(key),
          pinned: items.filter((i) => i.pinned).map(key),
          corrections: this.corrections,
        },
      },
      audit,
    );
  }

  /** The commit the platform is synced to, when its state is `synced`. */
  private async syncedCommit(): Promise<string | undefined> {
    const kv = await this.opts.store.get(K.stackInfo);
    const info = kv === undefined ? {} : readInfo(text(kv.value));
    return info.state === "synced" ? info.commit : undefined;
  }

  /** The synced commit's checkout; made again from the repo it came from when it is gone. */
  private async checkout(commit: string): Promise<string> {
    const { service, store, dataDir } = this.opts;
    const have = service.checkouts.path(commit);
    if (have !== undefined) return have;
    const { record } = await readGitOps(store);
    const [repo, sub] =
      record?.follow === undefined
        ? [stackRepoPath(dataDir), ""]
        : [cacheRepoPath(dataDir), record.follow.path];
    return service.checkouts.fromRepo(repo, commit, sub, service.maxBytes);
  }

  /** Wake the loop on any change under `prefix`. */
  private async watchPrefix(prefix: string): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const w = this.opts.store.watch({ prefix });
      const cancel = (): void => w.cancel();
      signal.addEventListener("abort", cancel, { once: true });
      try {
        for await (const _batch of w) this.poke();
      } catch {
        // the store went away: watch again in a moment
      } finally {
        signal.removeEventListener("abort", cancel);
      }
      await sleep(1000, signal);
    }
  }

  /** Log a line once per kind of trouble until it clears. */
  private say(what: string, line: string): void {
    if (this.quietLog.has(what)) return;
    this.quietLog.add(what);
    this.opts.log(line);
  }
}

const key = (i: DriftItem): string => `${i.kind}/${i.name}`;
