/**
 * A joined server's learner made a voter once it has caught up: etcd refuses the promotion
 * ("… in sync with leader") until the learner's log is close to the leader's, so it is asked
 * again every 500 ms until it takes, the member is gone, or the caller stops.
 */
import { learnerKey } from "../model/learner.js";
import type { Store } from "../store/index.js";
import type { Membership } from "./membership.js";
import { sleep } from "../sleep.js";

const RETRY_MS = 500;

export type PromoteOutcome = "promoted" | "removed" | "aborted";

/**
 * Promote learner `memberId` when etcd lets it. Logs `server <name> promoted to voter` once it
 * is one (also when it already was; default log: stderr), and deletes its learner record from
 * `store` when given (promoted or removed). Resolves with what happened; never rejects. Other failures (no leader now, timeouts) are retried quietly, the
 * first of each kind logged.
 */
export async function promoteWhenCaughtUp(
  membership: Membership,
  memberId: string,
  signal: AbortSignal,
  log: (line: string) => void = (line) => process.stderr.write(line + "\n"),
  store?: Store,
): Promise<PromoteOutcome> {
  const seen = new Set<string>();
  while (!signal.aborted) {
    let outcome: PromoteOutcome | undefined;
    try {
      const members = await membership.promote(memberId);
      log(`server ${nameOf(members, memberId)} promoted to voter`);
      outcome = "promoted";
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      if (/in sync with leader/i.test(text)) {
        // Still catching up: the common case, not worth a line.
      } else if (/can only promote a learner member/i.test(text)) {
        const members = await membership.list().catch(() => undefined);
        log(`server ${nameOf(members ?? [], memberId)} promoted to voter`);
        outcome = "promoted";
      } else if (/member not found/i.test(text)) {
        log(`learner ${memberId} is no longer a member of the cluster: not promoted`);
        outcome = "removed";
      } else if (!seen.has(kind(text))) {
        seen.add(kind(text));
        log(`promoting learner ${memberId}: ${text}; trying again`);
      }
    }
    if (outcome !== undefined) {
      await store?.delete(learnerKey(memberId)).catch(() => undefined);
      return outcome;
    }
    await sleep(RETRY_MS, signal);
  }
  return "aborted";
}

const nameOf = (members: { id: string; name: string }[], id: string): string =>
  members.find((m) => m.id === id)?.name || id;

/** An error's text without its numbers, so a retried failure is logged once. */
const kind = (text: string): string => text.replace(/\d+/g, "#");
