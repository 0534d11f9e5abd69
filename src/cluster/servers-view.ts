/**
 * `GET /v1/cluster/servers`, the pure part: etcd's members as the prober saw them, each with the
 * Gantry server registered with it (`sys/servers/<name>`), and which server leads the
 * controllers. Servers registered with no member (several servers on an etcd someone else runs)
 * are rows of their own, without a member.
 */
import {
  controllerId,
  type ClusterServers,
  type ServerRecord,
  type ServerRole,
  type ServerRow,
} from "../model/server.js";
import { majority } from "./autopilot.js";
import type { Observation } from "./prober.js";
import type { Member, MemberStatus } from "./membership.js";

const iso = (ms: number | undefined): string | null =>
  ms === undefined ? null : new Date(ms).toISOString();

/** Whether `r` is the server of member `m`: by member id, else its etcd URLs, else its name. */
export function serverOfMember(r: ServerRecord, m: Member): boolean {
  if (r.memberId !== undefined && r.memberId === m.id) return true;
  if (r.etcdPeerUrl !== undefined || r.etcdClientUrl !== undefined)
    return (
      (r.etcdPeerUrl !== undefined && m.peerUrls.includes(r.etcdPeerUrl)) ||
      (r.etcdClientUrl !== undefined && m.clientUrls.includes(r.etcdClientUrl))
    );
  // A cluster server is named as its etcd member is.
  return r.memberId === undefined && m.name !== "" && r.name === m.name;
}

function roleOf(m: Member, st: MemberStatus | undefined, alive: boolean): ServerRole {
  if (m.isLearner) return "learner";
  if (st === undefined || !alive || st.leader === "0") return "unknown";
  return st.leader === m.id ? "leader" : "follower";
}

/** The rows of an etcd store. `leader` is the value of `sys/leader/controllers`, if any. */
export function clusterView(
  obs: Pick<Observation, "members" | "statuses" | "health"> | undefined,
  records: readonly ServerRecord[],
  leader: string | undefined,
): ClusterServers {
  const leads = (r: ServerRecord | undefined): boolean =>
    r !== undefined && leader === controllerId(r.apiUrl, r.pid);
  const matched = new Set<ServerRecord>();
  const rows: ServerRow[] = (obs?.members ?? []).map((m) => {
    const r = records.find((x) => !matched.has(x) && serverOfMember(x, m));
    if (r !== undefined) matched.add(r);
    const h = obs!.health.get(m.id);
    const alive = h.alive === true;
    const st = obs!.statuses.get(m.id);
    return {
      name: r?.name ?? m.name,
      memberId: m.id,
      role: roleOf(m, st, alive),
      health: alive ? "healthy" : "unreachable",
      lastContact: iso(h.lastContact),
      raftIndex: alive && st !== undefined ? st.raftIndex : null,
      apiUrl: r?.apiUrl ?? null,
      peerUrl: m.peerUrls[0] ?? null,
      clientUrl: m.clientUrls[0] ?? null,
      controllers: leads(r),
    };
  });
  for (const r of records) {
    if (matched.has(r)) continue;
    rows.push({
      name: r.name,
      memberId: null,
      role: "unknown",
      // Its record lives on a lease it renews: it was alive within the TTL.
      health: "healthy",
      lastContact: null,
      raftIndex: null,
      apiUrl: r.apiUrl,
      peerUrl: r.etcdPeerUrl ?? null,
      clientUrl: r.etcdClientUrl ?? null,
      controllers: leads(r),
    });
  }
  const voters = (obs?.members ?? []).filter((m) => !m.isLearner);
  const reachable = voters.filter((m) => obs!.health.get(m.id).alive === true).length;
  return {
    servers: rows,
    controllers: controllersName(records, leader),
    quorum: { voters: voters.length, reachable, ok: reachable >= majority(voters.length) },
    store: "etcd",
  };
}

/** The embedded store: one server, its own quorum. */
export function embeddedView(
  records: readonly ServerRecord[],
  leader: string | undefined,
  now: number,
): ClusterServers {
  // A server restarted within the record's TTL left its last record: the leader's, else the newest.
  const r =
    records.find((x) => leader === controllerId(x.apiUrl, x.pid)) ??
    [...records].sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
  return {
    servers: [
      {
        name: r?.name ?? "local",
        memberId: null,
        role: "leader",
        health: "healthy",
        lastContact: new Date(now).toISOString(),
        raftIndex: null,
        apiUrl: r?.apiUrl ?? null,
        peerUrl: null,
        clientUrl: null,
        controllers: r !== undefined && leader === controllerId(r.apiUrl, r.pid),
      },
    ],
    controllers: controllersName(records, leader),
    quorum: { voters: 1, reachable: 1, ok: true },
    store: "sqlite",
  };
}

function controllersName(
  records: readonly ServerRecord[],
  leader: string | undefined,
): string | null {
  if (leader === undefined) return null;
  return records.find((r) => leader === controllerId(r.apiUrl, r.pid))?.name ?? leader;
}
