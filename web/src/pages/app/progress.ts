import type { DeployView, PsEntry } from "./types";

/** A deploy's progress in numbers: its new instances and the old ones, and how many are healthy. */
export interface Progress {
  step: string;
  newTotal: number;
  newHealthy: number;
  oldTotal: number;
  oldHealthy: number;
}

/** An instance that serves: running, and passing its check when it has one. */
export const healthy = (p: PsEntry): boolean =>
  p.state === "running" && (p.health === undefined || p.health === "passing");

/** Pure: what the deploy did last (its last log line, or what it waits for) and the counts. */
export function progressOf(deploy: DeployView, ps: readonly PsEntry[]): Progress {
  const formation = ps.filter((p) => p.kind === "run" && p.desired !== "stopped");
  const fresh = formation.filter((p) => p.release === deploy.release);
  const old = formation.filter((p) => p.release !== deploy.release);
  const last = deploy.log[deploy.log.length - 1];
  const step =
    deploy.status === "running" && deploy.waiting !== undefined
      ? `waiting for ${deploy.waiting.key}`
      : (last ?? deploy.status);
  return {
    step,
    newTotal: fresh.length,
    newHealthy: fresh.filter(healthy).length,
    oldTotal: old.length,
    oldHealthy: old.filter(healthy).length,
  };
}

/** Instances per process type: `web 2/2` (serving / all meant to run; draining ones aside). */
export function summary(ps: readonly PsEntry[]): { type: string; up: number; all: number }[] {
  const by = new Map<string, { up: number; all: number }>();
  for (const p of ps) {
    if (p.kind !== "run" || p.desired !== "running") continue;
    const n = by.get(p.processType) ?? { up: 0, all: 0 };
    n.all += 1;
    if (healthy(p)) n.up += 1;
    by.set(p.processType, n);
  }
  return [...by.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => ({ type, ...n }));
}
