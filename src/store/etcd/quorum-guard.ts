import { NoQuorumError, UnavailableError } from "../errors.js";
import type { StoreDegraded } from "../types.js";
import type { Token } from "./connection.js";
import { verdictOf, type QuorumProbe, type QuorumView, type Verdict } from "./quorum.js";

/** A request slower than this makes the guard look at the members. */
const LOOK_AFTER_MS = 250;
/** How often requests in flight are looked at. */
const TICK_MS = 100;
/** While degraded: a request slower than this is looked at. */
const DEGRADED_LOOK_AFTER_MS = 100;
/** While quorum is lost: how often the members are looked at again. */
const RECHECK_MS = 500;
/** A read still waiting this long for a leader (election under way) is served locally. */
const READ_PATIENCE_MS = 1_500;
/**
 * A request is not given up on while other requests, sent after it, were answered within this
 * long: the cluster is busy, not without quorum (a look may time out under load).
 */
const ANSWERED_WITHIN_MS = 500;
/** How long looks must keep finding members slow before that counts as lost. */
const CONFIRM_MS = 300;
/** A request still waiting this long after a new leader was elected was lost with the old one. */
const NEW_LEADER_GRACE_MS = 250;

interface Pending {
  started: number;
  read: boolean;
  /** The raft term of the last answer before it started (0: none seen yet). */
  term: number;
  /** When a look first found a leader of a later term. */
  newLeaderAt?: number;
  /** Stop waiting: the caller gets `err` (a read then goes local, or again). */
  give(err: Error): void;
}

/** A request that was stuck on a leader that went away: a read is sent again. */
class LeaderChanged extends UnavailableError {
  constructor() {
    super(
      "the etcd leader changed while the request was in flight; a write may or may not have been applied",
    );
  }
}

/** The raft term in an etcd answer's header (0 when it has none). */
const termOf = (res: unknown): number =>
  Number((res as { header?: { raft_term?: unknown } } | null)?.header?.raft_term ?? 0) || 0;

/**
 * Quorum loss, quickly and clearly. Requests run as before; one that is still waiting after
 * 250 ms makes the guard look at the members (QuorumProbe, sharing one look among all). When
 * no majority answers, no leader can be elected until members come back: a write is abandoned
 * (never retried) with NoQuorumError and a read is served by a member alone (serializable),
 * marked stale. While an election is plausible (a majority answers, none leads yet) requests
 * keep waiting, as a healthy cluster's election takes about a second.
 *
 * Once quorum is known lost the store is `degraded`: writes fail at once, reads go straight to
 * a member that answers, and the members are looked at every 500 ms until a majority with a
 * leader is back, which ends it.
 */
export class QuorumGuard {
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private looking = false;
  /** The raft term of the latest answer. */
  private term = 0;
  /** When the latest answer that needed the leader came (ms since the epoch). */
  private lastAnswer = 0;
  /** When looks started to find too few members answering in time, some of them slow. */
  private unsureSince: number | undefined;
  private state: StoreDegraded | undefined;
  private closed = false;

  constructor(private readonly probe: QuorumProbe) {}

  get degraded(): StoreDegraded | undefined {
    return this.state;
  }

  /**
   * A write: abandoned once quorum turns out to be lost (after 250 ms of waiting; 100 ms while
   * the store is degraded). It is still sent while degraded: the members refuse it at once
   * while they have no leader, and it goes through as soon as they have one again (a verdict
   * would lag behind the client's own reconnection to members that came back).
   */
  async write<T>(start: (token: Token) => Promise<T>): Promise<T> {
    return this.watched(start, false);
  }

  /**
   * A read: linearizable while the cluster has quorum (`local` false), else served by a member
   * alone (`local` true); `revisionOf` tells the revision it was served at.
   */
  async read<T>(
    start: (token: Token, local: boolean) => Promise<T>,
    revisionOf: (res: T) => number,
  ): Promise<T> {
    if (this.state === undefined) {
      try {
        return await this.watched((t) => start(t, false), true).catch((err: unknown) => {
          if (err instanceof LeaderChanged) return this.watched((t) => start(t, false), true);
          throw err;
        });
      } catch (err) {
        if (!(err instanceof NoQuorumError)) throw err;
      }
    }
    const res = await start({ stopped: false }, true);
    if (this.state !== undefined) this.state.revision = revisionOf(res);
    return res;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.recheck);
    this.timer = this.recheck = undefined;
  }

  private watched<T>(start: (token: Token) => Promise<T>, read: boolean): Promise<T> {
    const token: Token = { stopped: false };
    const running = start(token);
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = {
        started: Date.now(),
        read,
        term: this.term,
        give: (err) => {
          token.stopped = true;
          reject(err);
        },
      };
      this.pending.add(entry);
      this.timer ??= setInterval(() => void this.tick(), TICK_MS).unref();
      running.then(
        (v) => {
          if (this.pending.delete(entry)) {
            this.lastAnswer = Date.now();
            const term = termOf(v);
            if (term > this.term) this.term = term;
            // An answer that needed the leader: quorum is back, if it was gone.
            if (this.state !== undefined) this.end();
            resolve(v);
          }
        },
        (e: unknown) => {
          if (this.pending.delete(entry)) reject(e);
        },
      );
    });
  }

  /** Look at the members when a request waits too long; give up on those that cannot finish. */
  private async tick(): Promise<void> {
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = Date.now();
    const lookAfter = this.state === undefined ? LOOK_AFTER_MS : DEGRADED_LOOK_AFTER_MS;
    if (this.looking || ![...this.pending].some((p) => now - p.started >= lookAfter)) return;
    this.looking = true;
    try {
      const view = await this.probe.view(LOOK_AFTER_MS);
      const after = Date.now();
      const verdict = this.confirmed(verdictOf(view), after);
      if (verdict === "ok") {
        this.stuckOnOldLeader(view, after);
        return;
      }
      // Answers that needed the leader keep coming (a busy cluster, a slow look): only slow.
      const answering = after - this.lastAnswer < ANSWERED_WITHIN_MS;
      const giveUp = [...this.pending].filter(
        (p) =>
          after - p.started >= lookAfter &&
          !(answering && this.lastAnswer > p.started) &&
          (verdict === "lost" || (p.read && after - p.started >= READ_PATIENCE_MS)),
      );
      if (giveUp.length === 0) return;
      this.begin(view);
      for (const p of giveUp) {
        this.pending.delete(p);
        p.give(new NoQuorumError(view.reachable, view.voters));
      }
    } catch {
      // a failed look changes nothing
    } finally {
      this.looking = false;
    }
  }

  /**
   * Members that did not answer in time may be busy rather than gone: "unsure" counts as lost
   * only when a look at least 300 ms later is still unsure (until then: wait, as for an
   * election). Members that refuse are gone at once.
   */
  private confirmed(verdict: Verdict, now: number): Exclude<Verdict, "unsure"> {
    if (verdict !== "unsure") {
      this.unsureSince = undefined;
      return verdict;
    }
    this.unsureSince ??= now;
    return now - this.unsureSince >= CONFIRM_MS ? "lost" : "electing";
  }

  /**
   * A request sent before the leader died (to it, or to a follower that forwarded it) may wait
   * until its deadline although a new leader was elected meanwhile: give up on it shortly after
   * the election, so that the caller can try again (a read is sent again at once; a write's
   * outcome is unknown, as after a timeout).
   */
  private stuckOnOldLeader(view: QuorumView, now: number): void {
    for (const p of this.pending) {
      if (now - p.started < LOOK_AFTER_MS || p.term === 0 || view.term <= p.term) continue;
      p.newLeaderAt ??= now;
      if (now - p.newLeaderAt < NEW_LEADER_GRACE_MS) continue;
      this.pending.delete(p);
      p.give(new LeaderChanged());
    }
  }

  /** Quorum is lost (or reads stopped waiting for it): degraded until a leader is back. */
  private begin(view: QuorumView): void {
    if (this.closed) return;
    if (this.state === undefined) {
      this.state = {
        since: Date.now(),
        voters: view.voters,
        reachable: view.reachable,
        revision: 0,
      };
    } else {
      this.state.voters = view.voters;
      this.state.reachable = view.reachable;
    }
    this.recheck ??= setInterval(() => void this.look(), RECHECK_MS).unref();
  }

  private async look(): Promise<void> {
    try {
      const view = await this.probe.probe();
      if (verdictOf(view) === "ok") this.end();
      else if (this.state !== undefined) {
        this.state.voters = view.voters;
        this.state.reachable = view.reachable;
      }
    } catch {
      // keep the state; look again
    }
  }

  private end(): void {
    this.state = undefined;
    clearInterval(this.recheck);
    this.recheck = undefined;
  }
}
