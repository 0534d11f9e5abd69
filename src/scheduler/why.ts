/**
 * Why an instance cannot be placed, in words for the deploy log:
 * "no node has 2 CPUs free (3 nodes: 1.5, 1, 0.5 free)".
 */
import type { Cluster } from "./cluster.js";
import { cpuWords, milli, type Demand } from "./demand.js";

/** Free amounts listed at most; the rest are counted. */
const SHOWN = 5;

export function unplacedReason(c: Cluster, d: Demand): string {
  if (c.size === 0) return "no live node to run it on";
  const base = [...c.candidates(d.constraints)];
  const which = d.constraints.map((x) => `${x.label}=${x.value}`).join(" and ");
  if (base.length === 0)
    return `no live node has ${which} (${c.size} live node${c.size === 1 ? "" : "s"}, none with that label value)`;
  const cpu = milli(d.cpu);
  const mem = d.memoryMb;
  const node = d.constraints.length === 0 ? "node" : `node with ${which}`;
  const nodes = `${base.length} node${base.length === 1 ? "" : "s"}`;
  const cpus = base.map((i) => c.freeCpu(i));
  const mems = base.map((i) => c.freeMem(i));
  if (!cpus.some((f) => f >= cpu))
    return `no ${node} has ${cpuWords(cpu)} free (${nodes}: ${list(cpus, (f) => String(Math.max(0, f) / 1000))} free)`;
  if (!mems.some((f) => f >= mem))
    return `no ${node} has ${mem} MiB memory free (${nodes}: ${list(mems, (f) => String(Math.max(0, f)))} MiB free)`;
  const pairs = base
    .map((i) => [c.freeCpu(i), c.freeMem(i)] as const)
    .sort((a, b) => b[0] - a[0] || b[1] - a[1]);
  const shown = pairs
    .slice(0, SHOWN)
    .map(
      ([f, m]) =>
        `${Number.isFinite(f) ? cpuWords(Math.max(0, f)) : "? CPUs"}/${Number.isFinite(m) ? Math.max(0, m) : "?"} MiB`,
    )
    .join(", ");
  const more = pairs.length > SHOWN ? `, and ${pairs.length - SHOWN} more` : "";
  return `no ${node} has both ${cpuWords(cpu)} and ${mem} MiB free (${nodes}: ${shown}${more} free)`;
}

/** The largest free amounts first, at most SHOWN, then how many more. */
function list(xs: number[], show: (x: number) => string): string {
  const sorted = [...xs].sort((a, b) => b - a);
  const head = sorted.slice(0, SHOWN).map(show).join(", ");
  return sorted.length > SHOWN ? `${head} and ${sorted.length - SHOWN} more` : head;
}
