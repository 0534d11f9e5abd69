/**
 * Dead-server cleanup, the pure rules (raft-autopilot's, on etcd's membership): which member, if
 * any, the controller leader removes now. The shell that probes and removes is autopilot-run.ts.
 *
 * - A member is dead when its status has failed to answer continuously for longer than the
 *   cleanup delay. Only failures count: a member that answers slowly answers, and a success
 *   resets its clock. A new leader starts every clock afresh (it gives every member the full
 *   delay again), so a leader change never hurries a removal.
 * - One member per pass; learners first (they vote on nothing), then voters, longest dead first.
 *   A learner that never started is left to the server join, which replaces it.
 * - Never a member whose Gantry server still renews its record: that server lives.
 * - Only while the cluster has quorum now and the live voters still make a majority of the voters
 *   left after the removal, and never below `minServers` voters.
 */

export interface AutopilotConfig {
  /** How long a member must fail to answer before it is removed (ms). */
  deadServerCleanupMs: number;
  /** Never remove a voter when fewer than this many voters would remain. */
  minServers: number;
}

export const AUTOPILOT_DEFAULTS: AutopilotConfig = { deadServerCleanupMs: 30_000, minServers: 2 };
/** Bounds of the flags (`--dead-server-cleanup 1s..24h`, `--min-servers 1..9`). */
export const AUTOPILOT_BOUNDS = {
  deadServerCleanupMs: { min: 1_000, max: 24 * 3_600_000 },
  minServers: { min: 1, max: 9 },
} as const;

/** What the probes have shown of one member so far. */
export interface ProbeHealth {
  /** Whether its last completed probe answered; undefined before the first one completed. */
  alive: boolean | undefined;
  /** When its status last answered (ms since the epoch). */
  lastContact?: number;
  /** When the first probe that failed since its last answer started. */
  failingSince?: number;
}

/** The probe results per member id; a success resets the member's clock. */
export class HealthTracker {
  private readonly byId = new Map<string, ProbeHealth>();

  /** A probe of `id` that started at `startedAt` ended at `endedAt`, answered or not. */
  record(id: string, ok: boolean, startedAt: number, endedAt: number): void {
    const h = this.byId.get(id) ?? { alive: undefined };
    if (ok) this.byId.set(id, { alive: true, lastContact: endedAt });
    else
      this.byId.set(id, {
        alive: false,
        ...(h.lastContact === undefined ? {} : { lastContact: h.lastContact }),
        failingSince:
          h.alive === false && h.failingSince !== undefined ? h.failingSince : startedAt,
      });
  }

  get(id: string): ProbeHealth {
    return this.byId.get(id) ?? { alive: undefined };
  }

  /** Forget members no longer in the cluster. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of [...this.byId.keys()]) if (!ids.has(id)) this.byId.delete(id);
  }
}

export interface MemberHealth extends ProbeHealth {
  id: string;
  name: string;
  isLearner: boolean;
  /**
   * A learner added but never started (no name, no client URL): its joiner may be starting it
   * now. The server join replaces it when it stays so (src/cluster/join-plan.ts), not this.
   */
  neverStarted?: boolean;
  /**
   * Its Gantry server's record (`sys/servers/<name>`, on a 10 s lease) is there: the server
   * lives, so a member whose status does not answer from here is not dead but unreachable at
   * the client URL it advertises (say 127.0.0.1 on another machine). It is never removed.
   */
  serverAlive?: boolean;
}

export interface DeadMember {
  id: string;
  name: string;
  isLearner: boolean;
  /** How long it has failed to answer, as far as this leader knows. */
  unreachableMs: number;
}

export type Decision =
  | { action: "remove"; member: DeadMember }
  | {
      action: "none";
      /** Dead members kept, and why (for the log); empty when every member is alive. */
      kept: { member: DeadMember; reason: string }[];
    };

/** The smallest majority of `n` voters. */
export const majority = (n: number): number => Math.floor(n / 2) + 1;

/** How long `m` has failed to answer, counted from `startedAt` at the earliest. */
export function unreachableFor(m: ProbeHealth, now: number, startedAt: number): number {
  if (m.alive !== false || m.failingSince === undefined) return 0;
  return Math.max(0, now - Math.max(m.failingSince, startedAt));
}

/**
 * The removal to make now, if any. `startedAt` is when this leader's autopilot started: clocks
 * never count from before it.
 */
export function decide(
  members: readonly MemberHealth[],
  cfg: AutopilotConfig,
  now: number,
  startedAt: number,
): Decision {
  const dead: DeadMember[] = members
    .filter((m) => m.neverStarted !== true)
    .map((m) => ({
      id: m.id,
      name: m.name,
      isLearner: m.isLearner,
      unreachableMs: unreachableFor(m, now, startedAt),
    }))
    .filter((m) => m.unreachableMs > cfg.deadServerCleanupMs)
    // Learners first, then the longest dead; ids break ties so a pass is deterministic.
    .sort(
      (a, b) =>
        Number(b.isLearner) - Number(a.isLearner) ||
        b.unreachableMs - a.unreachableMs ||
        a.id.localeCompare(b.id),
    );
  if (dead.length === 0) return { action: "none", kept: [] };

  const voters = members.filter((m) => !m.isLearner);
  const live = voters.filter((m) => m.alive === true).length;
  const kept: { member: DeadMember; reason: string }[] = [];
  for (const d of dead) {
    if (members.find((m) => m.id === d.id)?.serverAlive === true) {
      kept.push({
        member: d,
        reason:
          "its Gantry server still renews its record: its etcd client URL does not answer from here (see --etcd-client-addr)",
      });
      continue;
    }
    if (live < majority(voters.length)) {
      kept.push({
        member: d,
        reason: `no quorum: ${live} of ${voters.length} voters reachable`,
      });
      continue;
    }
    if (d.isLearner) return { action: "remove", member: d };
    const left = voters.length - 1;
    if (left < cfg.minServers) {
      kept.push({
        member: d,
        reason: `${voters.length} voters, and --min-servers is ${cfg.minServers}`,
      });
      continue;
    }
    if (live < majority(left)) {
      kept.push({
        member: d,
        reason: `the ${live} live voters would not be a majority of ${left}`,
      });
      continue;
    }
    return { action: "remove", member: d };
  }
  return { action: "none", kept };
}
