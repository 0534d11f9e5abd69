/**
 * What placement works with: the nodes (labels, capacity), what already runs on them, and what
 * one app's instances ask for (CPU and memory per instance, label constraints, a spread label).
 */

/** A live node as placement sees it. Capacity absent: unknown, counted as unlimited. */
export interface NodeInfo {
  name: string;
  labels?: Readonly<Record<string, string>>;
  /** CPUs (the agent's facts). */
  cpus?: number;
  /** Memory in MiB (the agent's facts, in bytes, / 2^20). */
  memoryMb?: number;
}

/** An instance that already occupies a node (and stays there), with what it reserves. */
export interface Placed {
  node: string;
  app: string;
  /** CPUs reserved (absent: none). */
  cpu?: number;
  /** MiB reserved (absent: none). */
  memoryMb?: number;
}

/** `label=value`: a node qualifies only when its label has that value. */
export interface Constraint {
  label: string;
  value: string;
}

/** What each new instance of one app asks for. */
export interface Demand {
  app: string;
  /** CPUs per instance (0: none reserved). */
  cpu: number;
  /** MiB per instance (0: none reserved). */
  memoryMb: number;
  constraints: readonly Constraint[];
  /** A node label whose values (locations, zones) the instances spread across. */
  spread?: string;
}

const LABEL = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
const VALUE = /^[A-Za-z0-9_./:-]{0,63}$/;

/** Parse `label=value`; undefined when it is not one. */
export function parseConstraint(raw: string): Constraint | undefined {
  const eq = raw.indexOf("=");
  if (eq <= 0) return undefined;
  const label = raw.slice(0, eq).trim();
  const value = raw.slice(eq + 1).trim();
  if (!LABEL.test(label) || !VALUE.test(value)) return undefined;
  return { label, value };
}

/** Whether a string is a label name (for `spread=`). */
export const isLabelName = (s: string): boolean => LABEL.test(s);

/** CPUs as whole thousandths, so sums never drift. */
export const milli = (cpus: number | undefined): number => Math.round((cpus ?? 0) * 1000);

/** "2 CPUs", "0.5 CPU". */
export function cpuWords(m: number): string {
  const n = Math.round(m) / 1000;
  return `${n} CPU${n === 1 || n < 1 ? "" : "s"}`;
}
