/**
 * The GitOps side of the stack on one server: syncs of the hosted repo's pushes and of a
 * followed repo's commits, one at a time (SyncQueue), each recorded in `stack/info`. The loops
 * that only the controller leader runs (polling, drift) call into it; the routes of the stack
 * repo, the sync stream and the webhook too.
 */
import { SecretBox } from "../apps/secrets.js";
import { GantryClient } from "../client/client.js";
import type { AuditLog } from "../audit/log.js";
import { formatDuration } from "../model/duration.js";
import type { StackInfo } from "../model/stack.js";
import type { Store } from "../store/index.js";
import { Checkouts } from "./checkout.js";
import { K } from "../model/keys.js";
import { text, type TxnOp } from "../store/index.js";
import { patchStackInfo, readInfo, type InfoPatch } from "./info.js";
import { SpecLoadFailure, type StackSyncer, type SyncSummary } from "./port.js";
import {
  applierToken,
  readGitOps,
  SEALED,
  GITOPS_KEY,
  type Follow,
  type GitOpsRecord,
} from "./records.js";
import { SyncQueue, type SyncOutcome } from "./sync-queue.js";

/** Default deadline of one sync. */
export const SYNC_DEADLINE_MS = 10 * 60_000;

export interface GitOpsOptions {
  store: Store;
  /** The data directory, or a function naming it (made on first use for store-only servers). */
  dataDir: string | (() => string);
  audit: AuditLog;
  syncer: StackSyncer;
  /** The API as this server's own client reaches it (for the applier's client). */
  selfUrl: () => string;
  box?: SecretBox;
  deadlineMs?: number;
  /** Largest checkout accepted (bytes of tar). */
  maxBytes?: number;
  log?: (line: string) => void;
}

/** Who applies: a token (its name for records, its secret for the API client). */
export interface Applier {
  name: string;
  tokenId: string;
  token: string;
}

/** One sync to run: which commit, from where, who applies it, where its lines go. */
export interface SyncJobSpec {
  commit: string;
  /** Makes the checkout (a push's tar, or an archive of the followed repo's cache). */
  checkout(checkouts: Checkouts): Promise<string>;
  applier: Applier;
  out(line: string): void;
  /** `push`: the pusher is there to read revealed secrets; remembered as the applier. */
  origin: "push" | "follow";
  /** Aborted when whoever asked is gone (the pusher): the apply stops between items. */
  cancelled?: AbortSignal;
  /** Checked when the sync starts (after waiting): undefined to go on, else why not. */
  precondition?(): Promise<string | undefined>;
}

export type SyncResult = SyncOutcome<SyncSummary>;

export class GitOpsService {
  readonly box: SecretBox;
  readonly deadlineMs: number;
  readonly maxBytes: number;
  private readonly queue: SyncQueue<SyncSummary>;
  private readonly synced = new Set<(commit: string) => void>();
  private readonly log: (line: string) => void;
  private made: Checkouts | undefined;

  constructor(readonly opts: GitOpsOptions) {
    this.box = opts.box ?? new SecretBox({ dataDir: opts.dataDir });
    this.deadlineMs = opts.deadlineMs ?? SYNC_DEADLINE_MS;
    this.maxBytes = opts.maxBytes ?? 200 * 1024 * 1024;
    this.queue = new SyncQueue(this.deadlineMs);
    this.log = opts.log ?? ((line) => process.stderr.write(line + "\n"));
  }

  /** The data directory. */
  dataDir(): string {
    const d = this.opts.dataDir;
    return typeof d === "string" ? d : d();
  }

  /** The commits' checkouts, under the data directory. */
  get checkouts(): Checkouts {
    return (this.made ??= new Checkouts(this.dataDir()));
  }

  get syncer(): StackSyncer {
    return this.opts.syncer;
  }

  /** Whether a sync (or a correction) runs or waits now. */
  busy(): boolean {
    return this.queue.busy();
  }

  /** Call `fn` after every successful sync (the drift loop re-plans). */
  onSynced(fn: (commit: string) => void): () => void {
    this.synced.add(fn);
    return () => this.synced.delete(fn);
  }

  /** A client of this server's API with the applier's token. */
  clientFor(applier: Applier): GantryClient {
    return new GantryClient({ addr: this.opts.selfUrl(), token: applier.token });
  }

  /** The followed repo's URL as git needs it (with its credentials, when it has any). */
  followUrl(follow: Follow): string {
    return follow.sealedUrl === undefined
      ? follow.url
      : this.box.decrypt(follow.sealedUrl, SEALED.url);
  }

  /** The stored applier (the last pusher, or who ran stack:connect), when there is one. */
  async storedApplier(): Promise<Applier | undefined> {
    const { record } = await readGitOps(this.opts.store);
    const token = applierToken(this.box, record);
    if (record?.applier === undefined || token === undefined) return undefined;
    return { name: record.applier.name, tokenId: record.applier.tokenId, token };
  }

  /**
   * Plan and apply one commit: queued behind the running sync (a newer one supersedes it while
   * it waits), bounded by the deadline, recorded in stack/info. Resolves with how it ended.
   */
  async sync(job: SyncJobSpec): Promise<SyncResult> {
    const label = `commit ${job.commit.slice(0, 12)}`;
    const outcome = await this.queue.submit({ label, run: (signal) => this.run(job, signal) });
    if (outcome.status === "timeout" || outcome.status === "superseded") {
      const message =
        outcome.status === "timeout" ? outcome.error : `${label} was superseded by ${outcome.by}`;
      job.out(` !     ${message}`);
      if (outcome.status === "timeout") {
        await this.record(
          { state: "failed", lastSync: this.last(job.commit, "failed", message) },
          job.applier,
        );
      }
    }
    return outcome;
  }

  /** Run a correction (or any engine work) in the sync queue, if no sync waits. */
  offer<R>(label: string, run: (signal: AbortSignal) => Promise<R>): Promise<SyncOutcome<R>> {
    // One queue for syncs and corrections: the engine never runs twice at once on this server.
    return (this.queue as unknown as SyncQueue<R>).offer({ label, run });
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }

  private async run(job: SyncJobSpec, deadline: AbortSignal): Promise<SyncSummary> {
    const signal =
      job.cancelled === undefined ? deadline : AbortSignal.any([deadline, job.cancelled]);
    const short = job.commit.slice(0, 12);
    const why = await job.precondition?.();
    if (why !== undefined) throw new Error(why);
    let dir: string;
    try {
      dir = await job.checkout(this.checkouts);
    } catch (err) {
      const message = `cannot read commit ${short}: ${(err as Error).message}`;
      await this.record(
        { state: "failed", lastSync: this.last(job.commit, "failed", message) },
        job.applier,
      );
      throw new Error(message);
    }
    const before = await readInfoState(this.opts.store);
    await this.record({ state: "syncing" }, job.applier);
    const started = Date.now();
    try {
      const summary = await this.opts.syncer.sync({
        dir,
        commit: job.commit,
        client: this.clientFor(job.applier),
        out: job.out,
        // A followed repo's sync has no one to show a secret to: it is said, never printed.
        reveal:
          job.origin === "push"
            ? job.out
            : () => job.out("-----> a secret was generated and not shown (no one to show it to)"),
        signal,
      });
      if (deadline.aborted)
        throw new Error(`the sync passed its deadline of ${formatDuration(this.deadlineMs)}`);
      if (signal.aborted) throw new Error("the pusher went away before the sync was recorded");
      await this.record(
        { commit: job.commit, state: "synced", lastSync: this.last(job.commit, "synced") },
        job.applier,
        job.origin === "push",
      );
      this.checkouts.keepOnly(job.commit);
      job.out(`-----> Synced ${short} in ${formatDuration(Date.now() - started)}: ${summary.line}`);
      for (const fn of this.synced) fn(job.commit);
      return summary;
    } catch (err) {
      if (err instanceof SpecLoadFailure) {
        for (const p of err.problems) job.out(` !     ${p}`);
        // Nothing was applied: the platform is still at the commit it was synced to.
        await this.record(
          {
            state: before ?? null,
            lastSync: this.last(job.commit, "rejected", err.problems.join("\n")),
          },
          job.applier,
        );
        this.removeUnlessCurrent(job.commit);
        throw new Error(`${short}: the stack does not load; nothing was applied`);
      }
      const message = (err as Error).message;
      await this.record(
        { state: "failed", lastSync: this.last(job.commit, "failed", message) },
        job.applier,
      );
      this.removeUnlessCurrent(job.commit);
      throw err;
    }
  }

  private last(
    commit: string,
    result: string,
    message?: string,
  ): NonNullable<StackInfo["lastSync"]> {
    return {
      at: new Date().toISOString(),
      commit,
      result,
      ...(message === undefined ? {} : { message: message.slice(0, 4096) }),
    };
  }

  /** Write stack/info (and, after a push, remember the pusher as the applier). */
  private async record(patch: InfoPatch, applier: Applier, rememberApplier = false): Promise<void> {
    try {
      const extra: TxnOp[] = [];
      if (rememberApplier) extra.push(await this.applierOp(applier));
      if (patch.lastSync) {
        const { commit = "", result } = patch.lastSync;
        extra.push(this.opts.audit.entry(applier, `stack.sync.${result}`, commit));
      }
      await patchStackInfo(this.opts.store, patch, extra);
    } catch (err) {
      this.log(`stack: cannot record the sync in stack/info: ${(err as Error).message}`);
    }
  }

  /** The put that makes `applier` the stored applier (keeping what else the record holds). */
  async applierOp(applier: Applier, follow?: GitOpsRecord["follow"] | null): Promise<TxnOp> {
    const { record } = await readGitOps(this.opts.store);
    const next: GitOpsRecord = {
      ...(record ?? {}),
      applier: {
        name: applier.name,
        tokenId: applier.tokenId,
        token: this.box.encrypt(applier.token, SEALED.token),
      },
      updatedAt: new Date().toISOString(),
    };
    if (follow === null) delete next.follow;
    else if (follow !== undefined) next.follow = follow;
    return { type: "put" as const, key: GITOPS_KEY, value: JSON.stringify(next) };
  }

  private removeUnlessCurrent(commit: string): void {
    void readInfoCommit(this.opts.store).then((current) => {
      if (current !== commit) this.checkouts.remove(commit);
    });
  }
}

async function readInfoCommit(store: Store): Promise<string | undefined> {
  const kv = await store.get(K.stackInfo);
  return kv === undefined ? undefined : readInfo(text(kv.value)).commit;
}

async function readInfoState(store: Store): Promise<string | undefined> {
  const kv = await store.get(K.stackInfo);
  return kv === undefined ? undefined : readInfo(text(kv.value)).state;
}
