/**
 * The I/O of a server join on the etcd membership: probe every member, apply join-plan's rules
 * (remove a stale learner or silent voters first), then add the joiner as a learner, waiting out
 * etcd's "unhealthy cluster" refusal (it takes new members only once every voter has been
 * connected for 5 s). Refusals are HttpErrors with the plan's status and code.
 */
import { HttpError } from "../errors.js";
import type { LearnerRecord } from "../model/learner.js";
import { planJoin, type Removal } from "./join-plan.js";
import type { Member, Membership } from "./membership.js";

export interface Admitted {
  member: Member;
  members: Member[];
  clusterId: string;
  removed: Removal[];
}

export interface AdmitOptions {
  /** How long to retry etcd's "unhealthy cluster" refusal of the add (default 10 s). */
  addWaitMs?: number;
  log?: (line: string) => void;
  now?: () => number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The ids of started members whose status does not answer (asked twice, 300 ms apart). */
async function silentMembers(m: Membership, members: Member[]): Promise<Set<string>> {
  const ask = async (list: Member[]): Promise<Member[]> => {
    const answers = await Promise.all(
      list.map((x) => (x.clientUrls[0] === undefined ? undefined : m.status(x.clientUrls[0]))),
    );
    return list.filter((x, i) => x.clientUrls.length > 0 && answers[i] === undefined);
  };
  let silent = await ask(members);
  if (silent.length > 0) {
    await sleep(300);
    silent = await ask(silent);
  }
  return new Set(silent.map((x) => x.id));
}

/** Add `joiner` as a learner after removing what the plan says; refusals throw. */
export async function admitLearner(
  m: Membership,
  learners: ReadonlyMap<string, LearnerRecord>,
  joiner: { name: string; peerUrl: string },
  opts: AdmitOptions = {},
): Promise<Admitted> {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => undefined);
  const members = await m.list().catch((err: unknown) => {
    throw unhealthy(`cannot list the etcd members: ${message(err)}`);
  });
  const silent = await silentMembers(m, members);
  const plan = planJoin({ members, silent, learners, joiner, now: now() });
  if ("refuse" in plan)
    throw new HttpError(plan.refuse.status, plan.refuse.code, plan.refuse.message);
  for (const r of plan.remove) {
    log(
      `server join of ${joiner.name}: removing member ${r.member.id} (${r.member.name || r.member.peerUrls[0]}): ${r.why}`,
    );
    await m.remove(r.member.id).catch((err: unknown) => {
      throw unhealthy(`removing member ${r.member.id} (${r.why}) failed: ${message(err)}`);
    });
  }
  const deadline = now() + (opts.addWaitMs ?? 10_000);
  for (;;) {
    try {
      const added = await m.addLearner(joiner.peerUrl);
      return { ...added, removed: plan.remove };
    } catch (err) {
      const text = message(err);
      if (/unhealthy cluster/i.test(text) && now() < deadline) {
        await sleep(500);
        continue;
      }
      throw addRefusal(text);
    }
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const unhealthy = (text: string): HttpError =>
  new HttpError(503, "cluster_unhealthy", `${text}; join again in a moment (see gantry servers)`);

function addRefusal(text: string): HttpError {
  if (/too many learner/i.test(text))
    return new HttpError(
      409,
      "learner_pending",
      "another server is joining as a learner right now; join again once it is promoted (see gantry servers)",
    );
  if (/peer ?urls? already exists/i.test(text))
    return new HttpError(
      409,
      "peer_url_taken",
      `etcd refused the join: ${text}; give this server another --etcd-peer-addr`,
    );
  if (/unhealthy cluster/i.test(text))
    return new HttpError(
      503,
      "cluster_unhealthy",
      "etcd refused a new member for 10 s: not every server has been connected for the last 5 s; join again in a moment (see gantry servers)",
    );
  return unhealthy(`etcd refused the new member: ${text}`);
}
