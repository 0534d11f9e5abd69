/**
 * Leadership among the servers that share a store: only the leader runs the controllers
 * (docs/architecture.md, principle 3), so several `gantry server`s on one etcd do the work once,
 * and when the leader dies another takes over within the lease's TTL.
 *
 * The recipe is etcd's election: a key created only if absent, on a lease the leader keeps
 * alive. The others watch the key and try again when it goes — at once when the leader stops
 * (it revokes its lease), at the end of the TTL when it dies. A leader that cannot renew its
 * lease (a store away, a process frozen) steps down before its TTL ends, and one whose key goes
 * steps down as soon as it hears; for the moment in between, the controllers' guarded
 * transactions keep two leaders from applying the same step twice.
 */
import { LeaseNotFoundError, text, type LeaseId, type Store } from "../store/index.js";
import { sleep } from "../sleep.js";

/** Where the leader writes its id (with its lease). */
export const LEADER_KEY = "sys/leader/controllers";

export interface LeaderOptions {
  store: Store;
  /** This server, as `gantry status` shows the leader: e.g. its API URL and pid. */
  id: string;
  /** The lease's TTL in seconds (default 10): how long a dead leader holds on. */
  ttlSeconds?: number;
  /** Called on becoming leader; what it returns is stopped when leadership ends. */
  lead: () => { stop(): Promise<void> };
  log?: (line: string) => void;
}

export interface Leadership {
  isLeader(): boolean;
  /** Step down (revoking the lease, so another server leads at once) and stop trying. */
  stop(): Promise<void>;
}

export function startLeadership(opts: LeaderOptions): Leadership {
  const e = new Election(opts);
  e.start();
  return e;
}

class Election implements Leadership {
  private readonly abort = new AbortController();
  private readonly ttl: number;
  private readonly log: (line: string) => void;
  private leading = false;
  /** Another server led (or this one stepped down) since this one started. */
  private contended = false;
  private lease: LeaseId | undefined;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LeaderOptions) {
    this.ttl = opts.ttlSeconds ?? 10;
    this.log = opts.log ?? ((line) => process.stderr.write(line + "\n"));
  }

  start(): void {
    this.done = this.run();
  }

  isLeader(): boolean {
    return this.leading;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  private async run(): Promise<void> {
    const { store } = this.opts;
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const grant = await store.grantLease(this.ttl);
        failures = 0;
        this.lease = grant.id;
        const res = await store.txn({
          compare: [{ key: LEADER_KEY, target: "createRevision", op: "==", value: 0 }],
          success: [{ type: "put", key: LEADER_KEY, value: this.opts.id, lease: grant.id }],
        });
        if (!res.succeeded) {
          this.contended = true;
          await this.release();
          await this.untilVacant(res.revision);
          continue;
        }
        await this.leadWhileRenewed(grant.id, res.revision);
        this.contended = true;
        // Stepped down: give the key up at once if the store still has it.
        await this.release();
      } catch (err) {
        if (signal.aborted) break;
        // Once per outage, not once a second.
        if (failures++ === 0) this.log(`controllers: leader election: ${String(err)} (retrying)`);
        await sleep(1000, signal);
      }
    }
    await this.release();
  }

  /**
   * Run the controllers while the lease is renewed and the key is ours; step down when the lease
   * cannot be renewed, or at once when the key goes (its lease expired or was revoked).
   */
  private async leadWhileRenewed(lease: LeaseId, revision: number): Promise<void> {
    const { store } = this.opts;
    const lost = new AbortController();
    const signal = AbortSignal.any([this.abort.signal, lost.signal]);
    const watch = store.watch(LEADER_KEY, { startRevision: revision + 1 });
    void (async () => {
      try {
        for await (const batch of watch)
          if (batch.some((ev) => ev.type === "delete" || text(ev.kv.value) !== this.opts.id)) {
            this.log("controllers: the leader key is gone; stepping down");
            lost.abort();
            return;
          }
      } catch {
        // The watch broke (store away): renewing the lease decides.
      }
    })();
    const running = this.opts.lead();
    this.leading = true;
    // Said only when there was someone to take over from: a lone server has nothing to report.
    if (this.contended) this.log(`controllers: this server leads now (${this.opts.id})`);
    let renewedAt = Date.now();
    try {
      while (!signal.aborted) {
        await sleep((this.ttl * 1000) / 3, signal);
        if (signal.aborted) return;
        try {
          // A keep-alive can hang on a stuck stream (up to the store's request timeout): the
          // key's watch must still be able to end the leadership at once, so race the two.
          const renewed = await untilAborted(store.keepAlive(lease), signal);
          if (!renewed) return;
          renewedAt = Date.now();
        } catch (err) {
          if (err instanceof LeaseNotFoundError) {
            this.log("controllers: the leader's lease expired; stepping down");
            return;
          }
          // Store unreachable: keep leading only while the lease may still stand.
          if (Date.now() - renewedAt >= (this.ttl * 1000 * 2) / 3) {
            this.log(
              `controllers: cannot renew the leader's lease (${String(err)}); stepping down`,
            );
            return;
          }
        }
      }
    } finally {
      watch.cancel();
      this.leading = false;
      await running.stop();
    }
  }

  /** Wait until the leader key is gone (or a TTL passed: then look again anyway). */
  private async untilVacant(revision: number): Promise<void> {
    const signal = this.abort.signal;
    const watch = this.opts.store.watch(LEADER_KEY, { startRevision: revision + 1 });
    const timer = setTimeout(() => watch.cancel(), this.ttl * 1000);
    const cancel = (): void => watch.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      // The key may have gone between the txn and the watch: the watch starts from the txn.
      const current = await this.opts.store.get(LEADER_KEY);
      if (current === undefined) return;
      for await (const batch of watch) if (batch.some((ev) => ev.type === "delete")) return;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", cancel);
      watch.cancel();
    }
  }

  private async release(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    if (lease !== undefined) await this.opts.store.revokeLease(lease).catch(() => undefined);
  }
}

/**
 * Wait for `p` unless `signal` aborts first: true when `p` settled (its rejection is thrown),
 * false when the signal won (a late rejection of `p` is swallowed).
 */
async function untilAborted(p: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return false;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([p.then(() => true as const), aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort!);
    p.catch(() => undefined);
  }
}
