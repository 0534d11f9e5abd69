/**
 * Following an outside repository (stack:connect), on the controller leader only: the branch is
 * looked at with `git ls-remote` every interval, and at once when the webhook pokes
 * (`stack/poke`, written by whichever server got the webhook) or the connection changes; a new
 * commit is fetched into the cache and synced. A commit that failed is not tried again on
 * every poll: only after a poke, a change of the connection, or ten intervals.
 */
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { K } from "../model/keys.js";
import { sleep } from "../sleep.js";
import { text, type Store } from "../store/index.js";
import { patchStackInfo, readInfo } from "./info.js";
import { GITOPS_KEY, POKE_KEY, readGitOps, type Follow } from "./records.js";
import { cacheRepoPath, displayUrl, fetchBranch, lsRemote } from "./remote.js";
import type { GitOpsService } from "./service.js";

const RETRY_INTERVALS = 10;

export interface FollowerOptions {
  service: GitOpsService;
  store: Store;
  dataDir: string;
  log: (line: string) => void;
}

/** Start following (the leader calls this; stop() when leadership ends). */
export function startFollower(opts: FollowerOptions): { stop(): Promise<void>; poke(): void } {
  const f = new Follower(opts);
  const done = f.run();
  return {
    poke: () => f.poke(),
    stop: async () => {
      f.abort.abort();
      await done;
    },
  };
}

class Follower {
  readonly abort = new AbortController();
  private wake = new AbortController();
  /** The last commit tried and how: not tried again on every poll when it failed. */
  private tried: { commit: string; ok: boolean; at: number; key: string } | undefined;
  private failing = false;

  constructor(private readonly opts: FollowerOptions) {}

  poke(): void {
    this.wake.abort();
  }

  async run(): Promise<void> {
    const watches = [GITOPS_KEY, POKE_KEY].map((key) => this.watchKey(key));
    while (!this.abort.signal.aborted) {
      const poked = this.wake.signal.aborted;
      this.wake = new AbortController();
      let interval = 60_000;
      try {
        const { record, modRevision } = await readGitOps(this.opts.store);
        if (record?.follow !== undefined) {
          interval = record.follow.intervalMs;
          await this.check(record.follow, `${modRevision}`, poked);
        } else interval = 3_600_000;
        this.failing = false;
      } catch (err) {
        if (this.abort.signal.aborted) break;
        if (!this.failing) this.opts.log(`stack: following: ${(err as Error).message}`);
        this.failing = true;
        await this.recordFailure((err as Error).message);
      }
      await sleep(interval, AbortSignal.any([this.abort.signal, this.wake.signal]));
    }
    await Promise.all(watches);
  }

  private async check(follow: Follow, key: string, poked: boolean): Promise<void> {
    const { service, store, dataDir } = this.opts;
    const signal = this.abort.signal;
    const url = service.followUrl(follow);
    const head = await lsRemote(url, follow.branch, signal);
    if (head === undefined) throw new Error(`${displayUrl(url)} has no branch "${follow.branch}"`);
    const info = await store.get(K.stackInfo);
    if (info !== undefined && readInfo(text(info.value)).commit === head) return;
    const t = this.tried;
    if (
      t !== undefined &&
      t.commit === head &&
      t.key === key &&
      !poked &&
      Date.now() - t.at < RETRY_INTERVALS * follow.intervalMs
    )
      return;
    const applier = await service.storedApplier();
    if (applier === undefined)
      throw new Error("no applier is stored: run gantry stack:connect again");
    const commit = await fetchBranch(cacheRepoPath(dataDir), url, follow.branch, signal);
    const log = syncLog(dataDir);
    log.write(`${new Date().toISOString()} sync of ${commit} from ${displayUrl(url)}\n`);
    const outcome = await service.sync({
      commit,
      checkout: (c) => c.fromRepo(cacheRepoPath(dataDir), commit, follow.path, service.maxBytes),
      applier,
      out: (line) => log.write(line + "\n"),
      origin: "follow",
    });
    log.end();
    this.tried = { commit, ok: outcome.status === "done", at: Date.now(), key };
    const what =
      outcome.status === "done"
        ? `synced (${outcome.result.line})`
        : outcome.status === "superseded"
          ? `superseded by ${outcome.by}`
          : `failed: ${outcome.error.split("\n")[0]}`;
    this.opts.log(`stack: ${commit.slice(0, 12)} from ${displayUrl(url)}: ${what}`);
  }

  private async recordFailure(message: string): Promise<void> {
    try {
      await patchStackInfo(this.opts.store, {
        state: "failed",
        lastSync: {
          at: new Date().toISOString(),
          result: "failed",
          message: message.slice(0, 4096),
        },
      });
    } catch {
      // the store is away: the log said it
    }
  }

  /** Wake the loop when `key` changes; re-watch after a break while following. */
  private async watchKey(key: string): Promise<void> {
    while (!this.abort.signal.aborted) {
      const w = this.opts.store.watch(key);
      const cancel = (): void => w.cancel();
      this.abort.signal.addEventListener("abort", cancel, { once: true });
      try {
        for await (const _batch of w) this.poke();
      } catch {
        // store away: polling goes on; watch again in a moment
      } finally {
        this.abort.signal.removeEventListener("abort", cancel);
      }
      await sleep(1000, this.abort.signal);
    }
  }
}

/** The last followed sync's output: `DATA_DIR/stack/last-sync.log` (replaced by each sync). */
function syncLog(dataDir: string): NodeJS.WritableStream & { end(): void } {
  const path = join(dataDir, "stack", "last-sync.log");
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  return createWriteStream(path, { mode: 0o600 });
}
