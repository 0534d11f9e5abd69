/**
 * Each server's view of its etcd members: every second it lists the members and asks each one
 * for its status (etcd's Maintenance.Status), and remembers when each last answered. `gantry
 * servers` shows what it saw; the controller leader's autopilot decides on it.
 *
 * A probe has a generous timeout and at most one is in flight per member, so a slow member is
 * never counted as failed while it still answers; only a failed (or timed-out) probe counts.
 */
import { HealthTracker } from "./autopilot.js";
import type { Member, MemberStatus } from "./membership.js";
import { sleep } from "../sleep.js";

/** What the prober needs of the membership API (src/cluster/membership.ts). */
export interface MembershipProbe {
  list(): Promise<Member[]>;
  status(clientUrl: string, timeoutMs?: number): Promise<MemberStatus | undefined>;
}

export interface ProberOptions {
  membership: MembershipProbe;
  /** How often to probe (default 1 s). */
  intervalMs?: number;
  /** How long one status may take before it counts as a failure (default 5 s). */
  statusTimeoutMs?: number;
  now?: () => number;
}

/** What one pass knows: the members and, per member id, its last status and probe health. */
export interface Observation {
  at: number;
  members: Member[];
  /** The last status each member answered (kept while it is silent). */
  statuses: ReadonlyMap<string, MemberStatus>;
  health: HealthTracker;
}

/** The part of the prober the API reads. */
export interface ClusterObserver {
  /** The latest observation; waits (at most `waitMs`) for the first pass when there is none. */
  observe(waitMs?: number): Promise<Observation | undefined>;
}

export class ClusterProber implements ClusterObserver {
  private readonly abort = new AbortController();
  private readonly interval: number;
  private readonly timeout: number;
  private readonly now: () => number;
  private readonly health = new HealthTracker();
  private readonly statuses = new Map<string, MemberStatus>();
  private readonly inflight = new Set<string>();
  private readonly listeners = new Set<(o: Observation) => void>();
  private members: Member[] = [];
  private last: Observation | undefined;
  private firstPass: Promise<void>;
  private passed!: () => void;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ProberOptions) {
    this.interval = opts.intervalMs ?? 1_000;
    this.timeout = opts.statusTimeoutMs ?? 5_000;
    this.now = opts.now ?? Date.now;
    this.firstPass = new Promise((resolve) => (this.passed = resolve));
  }

  start(): this {
    this.done = this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.passed();
    await this.done;
  }

  /** Call `fn` after every pass; returns the unsubscribe. */
  onPass(fn: (o: Observation) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async observe(waitMs = 3_000): Promise<Observation | undefined> {
    if (this.last === undefined)
      await Promise.race([this.firstPass, sleep(waitMs, this.abort.signal)]);
    return this.last;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const began = this.now();
      await this.pass();
      if (signal.aborted) break;
      this.last = {
        at: this.now(),
        members: this.members,
        statuses: this.statuses,
        health: this.health,
      };
      this.passed();
      for (const fn of this.listeners) {
        try {
          fn(this.last);
        } catch {
          // a listener's bug is its own
        }
      }
      await sleep(Math.max(0, this.interval - (this.now() - began)), signal);
    }
  }

  /**
   * List the members (keeping the last list when no member answers) and start a probe of each
   * one not being probed; wait for them at most one interval, so a hung member slows no pass.
   */
  private async pass(): Promise<void> {
    try {
      this.members = await this.opts.membership.list();
    } catch {
      // keep the last list: the probes say who is away
    }
    const ids = new Set(this.members.map((m) => m.id));
    this.health.retain(ids);
    for (const id of [...this.statuses.keys()]) if (!ids.has(id)) this.statuses.delete(id);
    const probes = this.members.filter((m) => !this.inflight.has(m.id)).map((m) => this.probe(m));
    await Promise.race([Promise.all(probes), sleep(this.interval, this.abort.signal)]);
  }

  private async probe(m: Member): Promise<void> {
    const started = this.now();
    const url = m.clientUrls[0];
    // A learner added but never started has no client URL: it answers nothing.
    if (url === undefined) return this.health.record(m.id, false, started, started);
    this.inflight.add(m.id);
    try {
      const st = await this.opts.membership.status(url, this.timeout);
      // Another member at that URL (a port reused) is not this one answering.
      const ok = st !== undefined && st.id === m.id;
      if (ok) this.statuses.set(m.id, st);
      this.health.record(m.id, ok, started, this.now());
    } finally {
      this.inflight.delete(m.id);
    }
  }
}
