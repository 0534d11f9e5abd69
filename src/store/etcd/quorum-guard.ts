import { NoQuorumError } from "../errors.js";
import type { StoreDegraded } from "../types.js";
import type { Token } from "./connection.js";
import { verdictOf, type QuorumProbe, type QuorumView } from "./quorum.js";

/** A request slower than this makes the guard look at the members. */
const LOOK_AFTER_MS = 250;
/** How often requests in flight are looked at. */
const TICK_MS = 100;
/** While quorum is lost: how often the members are looked at again. */
const RECHECK_MS = 500;
/** A read still waiting this long for a leader (election under way) is served locally. */
const READ_PATIENCE_MS = 1_500;

interface Pending {
  started: number;
  read: boolean;
  /** Stop waiting: the caller gets `err` (a read then goes local). */
  give(err: NoQuorumError): void;
}

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
  private state: StoreDegraded | undefined;
  private closed = false;

  constructor(private readonly probe: QuorumProbe) {}

  get degraded(): StoreDegraded | undefined {
    return this.state;
  }

  /** A write: refused at once while quorum is lost, abandoned once it turns out to be. */
  async write<T>(start: (token: Token) => Promise<T>): Promise<T> {
    const lost = this.lost();
    if (lost !== undefined) throw lost;
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
        return await this.watched((t) => start(t, false), true);
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

  /** The error for a write while quorum is known lost (undefined: go ahead). */
  private lost(): NoQuorumError | undefined {
    const st = this.state;
    const latest = this.probe.latest;
    if (st === undefined || latest === undefined || verdictOf(latest) !== "lost") return undefined;
    return new NoQuorumError(st.reachable, st.voters);
  }

  private watched<T>(start: (token: Token) => Promise<T>, read: boolean): Promise<T> {
    const token: Token = { stopped: false };
    const running = start(token);
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = {
        started: Date.now(),
        read,
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
    if (this.looking || ![...this.pending].some((p) => now - p.started >= LOOK_AFTER_MS)) return;
    this.looking = true;
    try {
      const view = await this.probe.view(LOOK_AFTER_MS);
      const verdict = verdictOf(view);
      if (verdict === "ok") return;
      const after = Date.now();
      const giveUp = [...this.pending].filter(
        (p) =>
          after - p.started >= LOOK_AFTER_MS &&
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
