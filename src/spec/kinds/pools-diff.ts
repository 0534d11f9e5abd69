import type { PoolSpec, PoolView } from "../../model/pool.js";
import { createFields, diffValues } from "../diff.js";
import type { FieldChange } from "../kind.js";

/** Fields the pool controller applies to the nodes it has. */
const IN_PLACE = [
  "size",
  "min",
  "max",
  "vars",
  "labels",
  "repairAfter",
  "startTimeout",
  "maxUnhealthy",
] as const;

/**
 * Fields a node is made from (with the address the plan gives its location and type): a change
 * replaces the nodes, one at a time (docs/pools.md). Not `forcesReplace`: the pool itself stays.
 */
const ROLLING = ["provider", "location", "type", "docker", "ssh", "exec"] as const;

/**
 * A pool's fields, spec against the server's record: in-place fields by name (`roles` whole,
 * `vars.X`, `labels.X`), node settings with an `info` line saying the nodes are replaced one at a
 * time, a size set by hand with `gantry pools:scale` as `info` while the spec's size is
 * unchanged (and as a change when new bounds leave it out: the server drops it then).
 */
export function diffPool(name: string, spec: PoolSpec, live: PoolView | undefined): FieldChange[] {
  if (live === undefined) return createFields(withoutEmpty(spec));
  const cur = live.spec;
  const out: FieldChange[] = [];
  if (cur.roles.join("\0") !== spec.roles.join("\0"))
    out.push({ path: "roles", old: cur.roles, new: spec.roles });
  for (const f of IN_PLACE) out.push(...diffValues(cur[f], spec[f], f));
  const rolling = ROLLING.flatMap((f) => diffValues(cur[f], spec[f], f));
  out.push(...rolling);
  const nodes = live.status?.nodes.length ?? live.scaledTo ?? cur.size;
  if (rolling.length > 0 && nodes > 0)
    out.push({
      path: "rolling",
      new: `replaces ${nodes} node${nodes === 1 ? "" : "s"} one at a time (new node settings)`,
      info: true,
    });
  if (live.deletedAt !== undefined)
    out.push({ path: "removing", old: `being removed since ${live.deletedAt}`, new: "kept" });
  if (live.scaledTo !== undefined && spec.size === cur.size) {
    const [min, max] = [spec.min ?? spec.size, spec.max ?? spec.size];
    // The server keeps a hand-set size only within the pool's bounds (src/pools/record.ts).
    out.push(
      live.scaledTo < min || live.scaledTo > max
        ? {
            path: "scaledTo",
            old: live.scaledTo,
            new: `back to size ${spec.size} (${live.scaledTo} is outside min ${min}, max ${max})`,
          }
        : {
            path: "scaledTo",
            new: `scaled by hand to ${live.scaledTo}; apply keeps it until size changes`,
            info: true,
          },
    );
  }
  const status = live.status;
  if (status !== undefined && (out.length > 0 || status.ready !== status.desired || status.halted))
    out.push({
      path: "status",
      new: `${status.ready} of ${status.desired} ready${status.halted === undefined ? "" : `; halted: ${status.halted}`}`,
      info: true,
    });
  return out;
}

/** A new pool as a plan shows it: the fields it sets, leaving out empty lists and maps. */
function withoutEmpty(spec: PoolSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) {
    if (v === undefined) continue;
    if (Array.isArray(v) ? v.length === 0 : typeof v === "object" && Object.keys(v).length === 0)
      continue;
    out[k] = v;
  }
  return out;
}
