/**
 * Why the deploy controller looked at an app, and the reconciles that found work only because of
 * the periodic resync (issue 19). Every change a deploy waits for is announced by a watch event
 * and every step due by time by a planner wake-up, so the resync is a safety net that never
 * moves a deploy: each find of its own is a bug signal (a missed event or wake-up, which users
 * would see as a ~10 s stall), logged and counted. An event merely in flight when the resync
 * looked — it arrives moments later, for a revision the snapshot already held — does not count.
 */

/** What asked for a reconcile of an app. */
export type Why = "event" | "wake" | "resync" | "start" | "more";

/** How long a suspect find waits for a late event before it counts. */
const IN_FLIGHT_MS = 1000;

interface Suspect {
  revision: number;
  summary: string;
  late: boolean;
  timer: ReturnType<typeof setTimeout>;
}

export class ResyncAudit {
  /** Reconciles that found work with only the resync to ask for them. */
  finds = 0;
  /** Reconciles, by what asked for them (several reasons count once each). */
  readonly reconciles: Record<Why, number> = { event: 0, wake: 0, resync: 0, start: 0, more: 0 };
  private readonly asked = new Map<string, Set<Why>>();
  private readonly suspects = new Map<string, Suspect>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly onFind: () => void = () => undefined,
  ) {}

  /** The app was marked dirty for this reason. */
  mark(app: string, why: Why): void {
    const set = this.asked.get(app) ?? new Set<Why>();
    set.add(why);
    this.asked.set(app, set);
  }

  /** A reconcile of the app starts: what asked for it since the last one. */
  take(app: string): ReadonlySet<Why> {
    const set = this.asked.get(app) ?? new Set<Why>();
    this.asked.delete(app);
    for (const why of set) this.reconciles[why]++;
    return set;
  }

  /** A watch event about the app, at this revision. */
  event(app: string, modRevision: number): void {
    const s = this.suspects.get(app);
    if (s !== undefined && modRevision <= s.revision) s.late = true;
  }

  /**
   * A reconcile asked for by `why` applied a transition planned from a snapshot at `revision`.
   * With only the resync to ask for it, that is suspect until no late event explains it.
   */
  applied(app: string, why: ReadonlySet<Why>, revision: number, summary: string): void {
    if (why.size !== 1 || !why.has("resync") || this.suspects.has(app)) return;
    const timer = setTimeout(() => {
      const s = this.suspects.get(app);
      this.suspects.delete(app);
      if (s === undefined || s.late) return;
      this.finds++;
      this.onFind();
      this.log(
        `deploy controller: ${app}: the periodic resync found work no event or wake-up announced ` +
          `(${s.summary}, at revision ${s.revision}): a missed watch event or a missing wake-up — a bug`,
      );
    }, IN_FLIGHT_MS);
    timer.unref();
    this.suspects.set(app, { revision, summary, late: false, timer });
  }

  /** The app is gone: forget it. */
  forget(app: string): void {
    this.asked.delete(app);
  }

  stop(): void {
    for (const s of this.suspects.values()) clearTimeout(s.timer);
    this.suspects.clear();
  }
}
