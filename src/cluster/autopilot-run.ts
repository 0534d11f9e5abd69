/**
 * Dead-server cleanup on the controller leader: after every probe pass (src/cluster/prober.ts)
 * it applies the rules of autopilot.ts and removes at most one dead member from etcd, with its
 * `sys/servers/<name>` record and an audit entry. Runs only while this server leads.
 */
import type { AuditLog } from "../audit/log.js";
import type { Store, TxnOp } from "../store/index.js";
import {
  AUTOPILOT_DEFAULTS,
  decide,
  type AutopilotConfig,
  type DeadMember,
  type MemberHealth,
} from "./autopilot.js";
import { readServerRecords } from "./registration.js";
import { serverOfMember } from "./servers-view.js";
import type { Observation } from "./prober.js";

export interface AutopilotOptions {
  store: Store;
  prober: { onPass(fn: (o: Observation) => void): () => void };
  membership: { remove(id: string): Promise<unknown> };
  audit: AuditLog;
  config?: Partial<AutopilotConfig>;
  log: (line: string) => void;
  now?: () => number;
}

export interface Autopilot {
  stop(): Promise<void>;
}

/** Who the audit log names for the autopilot's removals. */
export const AUTOPILOT_ACTOR = { name: "autopilot", tokenId: "-" };

export function startAutopilot(o: AutopilotOptions): Autopilot {
  const cfg: AutopilotConfig = { ...AUTOPILOT_DEFAULTS, ...o.config };
  const now = o.now ?? Date.now;
  // A new leader gives every member the full delay again: clocks start here.
  const startedAt = now();
  let busy: Promise<void> | undefined;
  let stopped = false;
  /** The last "kept" message per member, so each is said once, not once a second. */
  const said = new Map<string, string>();

  const onPass = (obs: Observation): void => {
    if (busy !== undefined || stopped) return;
    busy = pass(obs).finally(() => (busy = undefined));
  };

  const pass = async (obs: Observation): Promise<void> => {
    const records = await readServerRecords(o.store);
    const members: MemberHealth[] = obs.members.map((m) => ({
      id: m.id,
      name: m.name,
      isLearner: m.isLearner,
      neverStarted: m.name === "" && m.clientUrls.length === 0,
      serverAlive: records.some((r) => serverOfMember(r.record, m)),
      ...obs.health.get(m.id),
    }));
    const d = decide(members, cfg, now(), startedAt);
    if (d.action === "none") {
      for (const { member, reason } of d.kept) {
        const line = `not removing dead server ${label(member)} (unreachable ${secs(member)}): ${reason}`;
        if (said.get(member.id) !== reason) o.log(line);
        said.set(member.id, reason);
      }
      for (const id of [...said.keys()])
        if (!d.kept.some((k) => k.member.id === id)) said.delete(id);
      return;
    }
    await remove(d.member, obs);
  };

  const remove = async (m: DeadMember, obs: Observation): Promise<void> => {
    try {
      await o.membership.remove(m.id);
    } catch (err) {
      o.log(`autopilot: cannot remove dead server ${label(m)}: ${String(err)} (next pass retries)`);
      return;
    }
    o.log(`removed dead server ${label(m)} (unreachable ${secs(m)})`);
    said.delete(m.id);
    const member = obs.members.find((x) => x.id === m.id);
    try {
      const ops: TxnOp[] = [];
      // Its record, had it one left (a record in time would have kept it from removal).
      if (member !== undefined)
        for (const r of await readServerRecords(o.store))
          if (serverOfMember(r.record, member)) ops.push({ type: "delete", range: r.key });
      ops.push(
        o.audit.entry(
          AUTOPILOT_ACTOR,
          "server.remove",
          `${label(m)} member ${m.id} unreachable ${secs(m)}`,
        ),
      );
      await o.store.txn({ success: ops });
    } catch (err) {
      o.log(`autopilot: removed ${label(m)} but cannot record it: ${String(err)}`);
    }
  };

  const unsubscribe = o.prober.onPass(onPass);
  return {
    stop: async () => {
      stopped = true;
      unsubscribe();
      await busy;
    },
  };
}

const label = (m: DeadMember): string => m.name || `learner ${m.id}`;
const secs = (m: DeadMember): string => `${Math.round(m.unreachableMs / 1000)} s`;
