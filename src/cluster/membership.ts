import { Etcd3, isRecoverableError, type IOptions } from "etcd3";

/** An etcd member as the cluster lists it (ids are etcd's uint64s, in decimal). */
export interface Member {
  id: string;
  /** Empty until the member has started (a learner added but never run). */
  name: string;
  peerUrls: string[];
  /** Empty until the member has started. */
  clientUrls: string[];
  isLearner: boolean;
}

/** What one member says of itself (etcd's Maintenance.Status). */
export interface MemberStatus {
  id: string;
  /** The member it follows as raft leader ("0": none, no quorum in sight). */
  leader: string;
  raftIndex: number;
  raftAppliedIndex: number;
  raftTerm: number;
  isLearner: boolean;
  dbSize: number;
  version: string;
}

const member = (m: {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner?: boolean;
}): Member => ({
  id: String(m.ID),
  name: m.name ?? "",
  peerUrls: [...(m.peerURLs ?? [])],
  clientUrls: [...(m.clientURLs ?? [])],
  isLearner: m.isLearner === true,
});

const GRPC = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1_000,
};

type Policy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;
/**
 * No circuit breakers of etcd3's own: its default one opens for 5 s after three failures
 * ("Execution prevented because the circuit breaker is open"), which hid etcd's own refusals (a
 * fresh cluster's "unhealthy cluster") from callers that retry them on purpose. A call that the
 * connection failed goes to the next endpoint instead (two rounds of them, within the deadline).
 */
const passthrough = {
  execute: (fn: (ctx: { signal: AbortSignal }) => unknown) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
} as unknown as Policy;
function nextEndpointOnFailure(endpoints: number): Policy {
  return {
    execute: async (fn: (ctx: { signal: AbortSignal }) => unknown) => {
      // etcd's own answer ("etcdserver: …") says more than a dead endpoint's refused connection.
      let answer: Error | undefined;
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn({ signal: new AbortController().signal });
        } catch (err) {
          if (!(err instanceof Error) || !isRecoverableError(err)) throw err;
          if (err.message.includes("etcdserver:")) answer = err;
          if (attempt >= 2 * endpoints) throw answer ?? err;
        }
      }
    },
  } as unknown as Policy;
}
const options = (endpoints: number): Omit<IOptions, "hosts"> => ({
  grpcOptions: GRPC,
  faultHandling: { global: nextEndpointOnFailure(endpoints), host: () => passthrough },
});

/**
 * etcd's cluster membership API (list, add as learner, promote, remove) and each member's own
 * status, over etcd3's gRPC clients. Every call has a deadline: a member that is gone answers
 * nothing, and the callers (join, promotion, dead-server cleanup) decide on time.
 */
export class Membership {
  private client: { key: string; etcd: Etcd3 } | undefined;
  private readonly probes = new Map<string, Etcd3>();
  private readonly endpoints: () => readonly string[];

  /**
   * `endpoints`: the members to ask, or a function giving them now (a server's store learns
   * members that joined later; its membership calls follow it).
   */
  constructor(
    endpoints: readonly string[] | (() => readonly string[]),
    private readonly timeoutMs = 2_000,
  ) {
    this.endpoints = typeof endpoints === "function" ? endpoints : () => endpoints;
  }

  /** The client over the members known now (made again when they changed). */
  private get cluster(): Etcd3 {
    const hosts = [...this.endpoints()];
    const key = hosts.join(",");
    if (this.client?.key !== key) {
      // Calls under way on the former client finish first (they have 2 s deadlines).
      const old = this.client?.etcd;
      if (old !== undefined) setTimeout(() => old.close(), 10_000).unref();
      this.client = { key, etcd: new Etcd3({ hosts, ...options(hosts.length) }) };
    }
    return this.client.etcd;
  }

  private deadline(ms = this.timeoutMs): { deadline: number } {
    return { deadline: Date.now() + ms };
  }

  async list(): Promise<Member[]> {
    const res = await this.cluster.cluster.memberList({ linearizable: true }, this.deadline());
    return res.members.map(member);
  }

  /**
   * Add a non-voting learner at `peerUrl`; it must then start with this cluster's members. The
   * cluster's id (decimal) comes with the answer.
   */
  async addLearner(
    peerUrl: string,
  ): Promise<{ member: Member; members: Member[]; clusterId: string }> {
    const res = await this.cluster.cluster.memberAdd(
      { peerURLs: [peerUrl], isLearner: true },
      this.deadline(),
    );
    return {
      member: member(res.member),
      members: res.members.map(member),
      clusterId: String(res.header.cluster_id),
    };
  }

  /** Make a learner a voter; etcd refuses while it has not caught up with the leader's log. */
  async promote(id: string): Promise<Member[]> {
    const res = await this.cluster.cluster.memberPromote({ ID: id }, this.deadline());
    return res.members.map(member);
  }

  async remove(id: string): Promise<Member[]> {
    const res = await this.cluster.cluster.memberRemove({ ID: id }, this.deadline());
    return res.members.map(member);
  }

  /** What the member at `clientUrl` says of itself; undefined when it does not answer in time. */
  async status(clientUrl: string, timeoutMs = 1_000): Promise<MemberStatus | undefined> {
    let client = this.probes.get(clientUrl);
    if (client === undefined) {
      client = new Etcd3({ hosts: clientUrl, ...options(1) });
      this.probes.set(clientUrl, client);
    }
    try {
      const s = await client.maintenance.status(this.deadline(timeoutMs));
      return {
        id: String(s.header.member_id),
        leader: String(s.leader),
        raftIndex: Number(s.raftIndex),
        raftAppliedIndex: Number(s.raftAppliedIndex ?? s.raftIndex),
        raftTerm: Number(s.raftTerm),
        isLearner: s.isLearner === true,
        dbSize: Number(s.dbSize),
        version: s.version,
      };
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.client?.etcd.close();
    this.client = undefined;
    for (const c of this.probes.values()) c.close();
    this.probes.clear();
  }
}
