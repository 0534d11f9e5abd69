import { catalogKey, instanceHealthPrefix } from "../catalog/keys.js";
import type { ServiceInstance } from "../model/service.js";
import { allows } from "../model/token.js";
import { MAX_TXN_OPS } from "../store/limits.js";
import type { TxnOp } from "../store/index.js";
import type { Principal } from "../model/principal.js";
import { parseInstance } from "../catalog/read.js";
import { forbidden } from "./errors.js";
import type { ApiDeps } from "./server.js";

/** Refuse a registration the caller may not make (403 naming what it lacks). */
export function checkMayRegister(who: Principal, inst: ServiceInstance): void {
  if (!allows(who.policies, "service", inst.service, "write"))
    throw forbidden(`register service "${inst.service}"`);
  // An exec check runs a command on the node: that takes the right to write the node.
  if (
    inst.checks.some((c) => c.type === "exec") &&
    !allows(who.policies, "node", inst.node, "write")
  )
    throw forbidden(
      `register exec checks on node "${inst.node}" (they run commands there; needs node:${inst.node}:write)`,
    );
}

/**
 * Store registrations: each instance with the removal of its check results that no longer apply,
 * and its audit entry. One read for all of them, then as few transactions as the writes fit
 * (an instance's writes always share one). Returns the last revision.
 */
export async function registerInstances(
  deps: Pick<ApiDeps, "store" | "audit">,
  who: Principal,
  insts: readonly ServiceInstance[],
): Promise<number> {
  const before = await deps.store.txn({
    success: insts.flatMap((inst): TxnOp[] => [
      { type: "get", range: catalogKey(inst.service, inst.id) },
      {
        type: "get",
        range: { prefix: instanceHealthPrefix(inst.service, inst.id) },
        keysOnly: true,
      },
    ]),
  });
  const writes = insts.map((inst, i): TxnOp[] => {
    const oldGet = before.results[2 * i];
    const healthGet = before.results[2 * i + 1];
    const old = oldGet?.type === "get" && oldGet.kvs[0] ? parseInstance(oldGet.kvs[0]) : undefined;
    const prefix = instanceHealthPrefix(inst.service, inst.id);
    const stale = (healthGet?.type === "get" ? healthGet.kvs : [])
      .map((kv) => kv.key)
      .filter((k) => isStale(k.slice(prefix.length), inst, old));
    return [
      { type: "put", key: catalogKey(inst.service, inst.id), value: JSON.stringify(inst) },
      ...stale.map((k): TxnOp => ({ type: "delete", range: k })),
      deps.audit.entry(who, "service.register", `${inst.service}/${inst.id}`),
    ];
  });
  let revision = before.revision;
  let chunk: TxnOp[] = [];
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    revision = (await deps.store.txn({ success: chunk })).revision;
    chunk = [];
  };
  for (const ops of writes) {
    if (chunk.length + ops.length > MAX_TXN_OPS) await flush();
    chunk.push(...ops);
  }
  await flush();
  return revision;
}

/** A stored result no longer applies when its check is gone, changed type, or got another TTL. */
function isStale(
  checkId: string,
  next: ServiceInstance,
  prev: ServiceInstance | undefined,
): boolean {
  const now = next.checks.find((c) => c.id === checkId);
  if (now === undefined) return true;
  const before = prev?.checks.find((c) => c.id === checkId);
  if (before === undefined) return false;
  if (before.type !== now.type) return true;
  // A TTL result lives on a lease of the old TTL.
  return before.type === "ttl" && now.type === "ttl" && before.ttl !== now.ttl;
}
