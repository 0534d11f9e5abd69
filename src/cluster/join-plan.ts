/**
 * What a server join does to the etcd membership before it adds the joiner as a learner, or why
 * it is refused: the pure rules of `POST /v1/cluster/join` (the route probes and acts).
 *
 * - One learner at a time: a learner that is still joining refuses the join (`learner_pending`),
 *   except one that never started (no name, no client URLs) and was added over 30 s ago, a
 *   started one that has stopped answering for as long, and the joiner's own never-started
 *   learner (it asks again): those are removed first, so a joiner that never starts does not
 *   block later joins.
 * - remove-then-add: etcd refuses a new member while a voter is down, so voters that do not
 *   answer now are removed first, as long as the voters that answer are a majority (then they
 *   stay one of the voters left); when they are not, the join is refused (`cluster_unhealthy`).
 * - The joiner's name and peer URL must not be those of a member that stays.
 */
import { formatDuration } from "../model/duration.js";
import type { LearnerRecord } from "../model/learner.js";
import type { Member } from "./membership.js";

/** How long a learner may go without starting (or answering) before a join replaces it. */
export const STALE_LEARNER_MS = 30_000;

export interface JoinView {
  members: Member[];
  /** Ids of the started members whose status did not answer now. */
  silent: ReadonlySet<string>;
  /** Learner records by member id (`sys/cluster/learners/<id>`). */
  learners: ReadonlyMap<string, LearnerRecord>;
  joiner: { name: string; peerUrl: string };
  now: number;
}

export interface Removal {
  member: Member;
  /** Why, for the log and the audit entry. */
  why: string;
}

export type JoinPlan =
  | { remove: Removal[] }
  | { refuse: { status: number; code: string; message: string } };

const started = (m: Member): boolean => m.name !== "" || m.clientUrls.length > 0;

/** What a member is called in messages: its name, else its learner record's, else its peer URL. */
export function memberLabel(m: Member, rec?: LearnerRecord): string {
  return m.name || rec?.name || m.peerUrls[0] || m.id;
}

/** The members to remove before the add, or the refusal. */
export function planJoin(v: JoinView): JoinPlan {
  const remove: Removal[] = [];
  for (const m of v.members.filter((x) => x.isLearner)) {
    const rec = v.learners.get(m.id);
    // No record: added by hand or by a join that failed before it wrote one; its age is unknown.
    const age = rec === undefined ? Infinity : v.now - Date.parse(rec.addedAt);
    const mine = !started(m) && m.peerUrls.includes(v.joiner.peerUrl);
    if (mine) {
      remove.push({ member: m, why: "the joiner's own learner, never started" });
    } else if (!started(m) && age > STALE_LEARNER_MS) {
      remove.push({ member: m, why: `a learner that never started (added ${ago(age)} ago)` });
    } else if (started(m) && v.silent.has(m.id) && age > STALE_LEARNER_MS) {
      remove.push({ member: m, why: "a learner that does not answer" });
    } else {
      const since = Number.isFinite(age) ? ` (added ${ago(age)} ago)` : "";
      return refuse(
        409,
        "learner_pending",
        `server ${memberLabel(m, rec)} is still joining as a learner${since}; join again once it is promoted (see gantry servers)`,
      );
    }
  }

  const voters = v.members.filter((m) => !m.isLearner);
  const dead = voters.filter((m) => !started(m) || v.silent.has(m.id));
  const alive = voters.length - dead.length;
  // A removal is a write: it needs a majority of the voters now. Each removal of a dead voter
  // then leaves the answering ones a majority of the voters that remain.
  if (dead.length > 0 && alive < Math.floor(voters.length / 2) + 1)
    return refuse(
      503,
      "cluster_unhealthy",
      `server${dead.length === 1 ? "" : "s"} ${dead.map((m) => memberLabel(m)).join(", ")} do${dead.length === 1 ? "es" : ""} not answer and only ${alive} of ${voters.length} answer: no server can join until the cluster has a majority (bring servers back, or gantry server --force-new-cluster on a survivor)`,
    );
  for (const m of dead) remove.push({ member: m, why: "a voter that does not answer" });

  const gone = new Set(remove.map((r) => r.member.id));
  const staying = v.members.filter((m) => !gone.has(m.id));
  const named = staying.find((m) => m.name === v.joiner.name);
  if (named !== undefined)
    return refuse(
      409,
      "name_taken",
      `server name ${v.joiner.name} is taken by a member of this cluster that answers (member ${named.id}, peer ${named.peerUrls.join(",")}): give this server another --name`,
    );
  const samePeer = staying.find((m) => m.peerUrls.includes(v.joiner.peerUrl));
  if (samePeer !== undefined)
    return refuse(
      409,
      "peer_url_taken",
      `peer URL ${v.joiner.peerUrl} is server ${memberLabel(samePeer, v.learners.get(samePeer.id))}'s (member ${samePeer.id}): give this server another --etcd-peer-addr`,
    );
  return { remove };
}

/** `initialCluster` for the joiner: name=peerUrl of every member, the new one by its name. */
export function initialCluster(members: Member[], newId: string, newName: string): string {
  return members
    .flatMap((m) => m.peerUrls.map((u) => `${m.id === newId ? newName : m.name}=${u}`))
    .join(",");
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s === 0 ? "0s" : formatDuration(s * 1000);
}

const refuse = (status: number, code: string, message: string): JoinPlan => ({
  refuse: { status, code, message },
});
