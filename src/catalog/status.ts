import { formatDuration, durationMs } from "../model/duration.js";
import type {
  CheckView,
  HealthRecord,
  HealthStatus,
  InstanceView,
  ServiceInstance,
  StoredCheck,
} from "../model/service.js";

const RANK: Record<HealthStatus, number> = { passing: 0, warning: 1, critical: 2 };

/** The id of the synthetic check that says whether the instance's node (its agent) is alive. */
export const NODE_CHECK_ID = "_node";

/** The worst of some statuses: critical > warning > passing; nothing to judge is passing. */
export function worst(statuses: Iterable<HealthStatus>): HealthStatus {
  let result: HealthStatus = "passing";
  for (const s of statuses) if (RANK[s] > RANK[result]) result = s;
  return result;
}

/**
 * A check's state from its stored result. A check without a result is critical: either it has not
 * run yet (the agent runs a new check at once, so this is brief) or it is a TTL check whose
 * record expired with its lease. Consul starts checks critical too: an instance is only
 * advertised once something has vouched for it.
 */
export function checkView(check: StoredCheck, record: HealthRecord | undefined): CheckView {
  const base = { id: check.id, name: check.name ?? check.id, type: check.type };
  if (record === undefined) {
    const output =
      check.type === "ttl"
        ? `TTL check not reported within its TTL of ${formatDuration(durationMs(check.ttl))}`
        : "no result yet";
    return { ...base, status: "critical", output };
  }
  return {
    ...base,
    status: record.status,
    output: record.output,
    updatedAt: record.updatedAt,
    since: record.since,
  };
}

/**
 * Whether the node's agent is alive (its `nodes/<name>` record exists: it lives on a lease the
 * agent keeps alive). Results written by a dead agent are stale, so they cannot be trusted.
 */
export function nodeCheckView(node: string, alive: boolean): CheckView {
  return {
    id: NODE_CHECK_ID,
    name: "node agent alive",
    type: "node",
    status: alive ? "passing" : "critical",
    output: alive ? `node ${node} is alive` : `node ${node} has no live agent to run its checks`,
  };
}

/**
 * An instance with its health. An instance without checks is passing (nothing to judge, as in
 * Consul); one with checks also gets the synthetic node check, since its results only mean
 * something while the agent that produces them is alive.
 */
export function instanceView(
  instance: ServiceInstance,
  results: (checkId: string) => HealthRecord | undefined,
  nodeAlive: boolean,
): InstanceView {
  const { checks: definitions, ...rest } = instance;
  const checks = definitions.map((c) => checkView(c, results(c.id)));
  if (checks.length > 0) checks.push(nodeCheckView(instance.node, nodeAlive));
  return { ...rest, status: worst(checks.map((c) => c.status)), checks };
}
