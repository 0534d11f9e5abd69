/** What this server's own etcd member says of itself, over etcd's JSON gateway. */

export interface LocalStatus {
  clusterId: string;
  memberId: string;
  /** The raft leader it follows; "0": none. */
  leader: string;
  isLearner: boolean;
}

interface StatusBody {
  header?: { cluster_id?: string; member_id?: string };
  leader?: string;
  isLearner?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function localStatus(clientUrl: string): Promise<LocalStatus | undefined> {
  try {
    const res = await fetch(`${clientUrl}/v3/maintenance/status`, {
      method: "POST",
      body: "{}",
      signal: AbortSignal.timeout(1_000),
    });
    const st = (await res.json()) as StatusBody;
    const clusterId = st.header?.cluster_id;
    const memberId = st.header?.member_id;
    if (clusterId === undefined || memberId === undefined) return undefined;
    return { clusterId, memberId, leader: st.leader ?? "0", isLearner: st.isLearner === true };
  } catch {
    return undefined;
  }
}

/** The member's status once it follows a leader; the last one seen (or undefined) on timeout. */
export async function waitForLeader(
  clientUrl: string,
  timeoutMs: number,
  /** Stop waiting at once when this says the member is gone. */
  gone: () => boolean = () => false,
): Promise<{ status: LocalStatus | undefined; leader: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let last: LocalStatus | undefined;
  for (;;) {
    last = (await localStatus(clientUrl)) ?? last;
    if (last !== undefined && last.leader !== "0") return { status: last, leader: true };
    if (Date.now() > deadline || gone()) return { status: last, leader: false };
    await sleep(100);
  }
}

/**
 * The client URLs of the cluster's members as this member knows them, from its peer listener's
 * `/members` (etcd serves it locally: also on a learner, which refuses clients' MemberList,
 * and without quorum). Empty when it does not answer.
 */
export async function knownClientUrls(peerUrl: string): Promise<string[]> {
  try {
    const res = await fetch(`${peerUrl}/members`, { signal: AbortSignal.timeout(1_000) });
    const members = (await res.json()) as { clientURLs?: unknown }[];
    return members.flatMap((m) =>
      Array.isArray(m.clientURLs) ? m.clientURLs.filter((u) => typeof u === "string") : [],
    );
  } catch {
    return [];
  }
}
