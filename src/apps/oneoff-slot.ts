/**
 * Where a one-off goes and what it is called (issue 15): the least busy live node and the app's
 * next one-off index. Pure, so `gantry run`, a build's tests, cron jobs (src/apps/run.ts
 * `placeOneoff`, in a store transaction) and the deploy planner's release phase (a guarded step
 * of src/controllers/plan-release-phase.ts) place one-offs alike.
 */
import type { Assignment } from "../model/app.js";
import { place, type Placed } from "../scheduler/place.js";

/** An instance that stays on its node; its kind and index count when it is one of the app's. */
export type Staying = Placed & Partial<Pick<Assignment, "kind" | "index">>;

export interface OneoffSlot {
  node: string;
  /** 1 + the highest index of the app's one-offs still assigned (of any type). */
  index: number;
}

/**
 * The node and index for a new one-off of `app`; undefined when there is no node. `running`:
 * the assignments that stay on their nodes (desired running, every app); `nodes`: the live
 * nodes that may take it.
 */
export function oneoffSlot(
  app: string,
  running: readonly Staying[],
  nodes: readonly string[],
): OneoffSlot | undefined {
  const [node] = place({ nodes, app, count: 1, existing: running });
  if (node === undefined) return undefined;
  const index =
    Math.max(
      0,
      ...running.filter((a) => a.app === app && a.kind === "oneoff").map((a) => a.index ?? 0),
    ) + 1;
  return { node, index };
}
