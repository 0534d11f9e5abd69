import { Etcd3 } from "etcd3";
import type { EtcdConnection } from "./connection.js";
import { classify } from "./rpc-errors.js";

/** What a look at every voting member found. */
export interface QuorumView {
  voters: number;
  /** Voters that answered their status in time. */
  reachable: number;
  /** Voters whose status did not come in time but that did not refuse either (busy, or cut off). */
  slow: number;
  /** Some answering voter follows a leader. */
  leader: boolean;
  /** The highest raft term among answering voters that follow a leader (0: none). */
  term: number;
  /** When the look was taken (ms since the epoch). */
  at: number;
}

/**
 * - `ok`: a majority answers and there is a leader: requests go through (or are merely slow);
 * - `electing`: a majority answers but none has a leader yet: an election is plausible, wait;
 * - `unsure`: no majority answers in time, but with the slow ones there would be one: a busy
 *   cluster, or members cut off (QuorumGuard asks twice before it calls that lost);
 * - `lost`: no majority answers: no leader can be elected until members come back.
 */
export type Verdict = "ok" | "electing" | "unsure" | "lost";

export function verdictOf(v: QuorumView): Verdict {
  if (v.reachable * 2 > v.voters) return v.leader ? "ok" : "electing";
  return (v.reachable + v.slow) * 2 > v.voters ? "unsure" : "lost";
}

/** "http://h:p/" and "h:p" name the same member. */
const norm = (url: string): string => url.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");

interface Status {
  leader: string;
  term: number;
}

interface Voter {
  id: string;
  url: string | undefined;
}

const DEADLINE_EXCEEDED = 4;

const GRPC = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1_000,
};

/**
 * Counts the voting members that answer, and whether any of them has a leader: the member
 * list from any member that answers (a local read, no leader needed), then each voter's status.
 * Neither call carries the require-leader header. Concurrent callers share one look.
 */
export class QuorumProbe {
  private voters: Voter[] | undefined;
  private readonly extra = new Map<string, Etcd3>();
  private last: QuorumView | undefined;
  private running: Promise<QuorumView> | undefined;

  constructor(
    private readonly conn: EtcdConnection,
    private readonly timeoutMs = 500,
  ) {}

  /** The last look's result, if any. */
  get latest(): QuorumView | undefined {
    return this.last;
  }

  /** The last look if it is at most `maxAgeMs` old, else a new one. */
  view(maxAgeMs: number): Promise<QuorumView> {
    const last = this.last;
    if (last !== undefined && Date.now() - last.at <= maxAgeMs) return Promise.resolve(last);
    return this.probe();
  }

  /** Look now (or join the look under way). */
  probe(): Promise<QuorumView> {
    this.running ??= this.look().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  close(): void {
    for (const c of this.extra.values()) c.close();
    this.extra.clear();
  }

  private async look(): Promise<QuorumView> {
    const deadline = Date.now() + this.timeoutMs;
    const urls = new Map<string, string>();
    for (const u of [...this.conn.endpoints, ...(this.voters ?? []).flatMap((v) => v.url ?? [])])
      if (!urls.has(norm(u))) urls.set(norm(u), u);
    const [list, { statuses, slow }] = await Promise.all([
      this.memberList(deadline),
      this.statuses([...urls.values()], deadline),
    ]);
    if (list !== undefined) this.voters = list;
    const voters = this.voters;
    let view: QuorumView;
    if (voters === undefined) {
      // Nobody ever told us the members: count the endpoints we were given.
      const led = [...statuses.values()].filter((st) => st.leader !== "0");
      view = {
        voters: urls.size,
        reachable: statuses.size,
        slow: slow.size,
        leader: led.length > 0,
        term: Math.max(0, ...led.map((st) => st.term)),
        at: Date.now(),
      };
    } else {
      const unseen = voters.flatMap((v) =>
        v.url !== undefined && !urls.has(norm(v.url)) ? v.url : [],
      );
      if (unseen.length > 0) {
        const more = await this.statuses(unseen, Date.now() + this.timeoutMs);
        for (const [id, st] of more.statuses) statuses.set(id, st);
        for (const u of more.slow) slow.add(u);
      }
      const answering = voters.flatMap((v) => statuses.get(v.id) ?? []);
      const led = answering.filter((st) => st.leader !== "0");
      view = {
        voters: voters.length,
        reachable: answering.length,
        slow: voters.filter(
          (v) => !statuses.has(v.id) && v.url !== undefined && slow.has(norm(v.url)),
        ).length,
        leader: led.length > 0,
        term: Math.max(0, ...led.map((st) => st.term)),
        at: Date.now(),
      };
    }
    this.last = view;
    return view;
  }

  /** The voting members, from the first member that answers. */
  private async memberList(deadline: number): Promise<Voter[] | undefined> {
    const asks = this.conn.endpoints.map(async (_, i) => {
      const res = await this.conn.clientAt(i).cluster.memberList({}, { deadline });
      return res.members
        .filter((m) => m.isLearner !== true)
        .map((m) => ({ id: String(m.ID), url: m.clientURLs?.[0] }));
    });
    return Promise.any(asks).catch(() => undefined);
  }

  /**
   * member id → the leader it follows ("0": none) and its term, for each URL that answered;
   * and the URLs (normalized) that did not answer in time, as opposed to refusing.
   */
  private async statuses(
    urls: string[],
    deadline: number,
  ): Promise<{ statuses: Map<string, Status>; slow: Set<string> }> {
    const statuses = new Map<string, Status>();
    const slow = new Set<string>();
    await Promise.all(
      urls.map(async (url) => {
        try {
          const s = await this.client(url).maintenance.status({ deadline });
          statuses.set(String(s.header.member_id), {
            leader: String(s.leader),
            term: Number(s.raftTerm),
          });
        } catch (err) {
          if (classify(err).code === DEADLINE_EXCEEDED) slow.add(norm(url));
        }
      }),
    );
    return { statuses, slow };
  }

  private client(url: string): Etcd3 {
    const i = this.conn.endpoints.findIndex((e) => norm(e) === norm(url));
    if (i >= 0) return this.conn.clientAt(i);
    let c = this.extra.get(url);
    if (c === undefined) {
      c = new Etcd3({ hosts: url, grpcOptions: GRPC });
      this.extra.set(url, c);
    }
    return c;
  }
}
