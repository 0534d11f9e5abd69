/**
 * The pure part of placing a one-off (kind `oneoff`: `gantry run`, a build's tests, a release
 * phase, a cron job's run): which node, which index, the assignment's fields. Callers read the
 * app, the assignments and the nodes in one transaction and write the result guarded by what
 * they read (src/apps/run.ts for `gantry run`, src/controllers/cron.ts for scheduled jobs, the
 * deploy planner's guarded step for a release phase: src/controllers/plan-release-phase.ts).
 */
import type { App, Assignment } from "../model/app.js";
import { place, type Placed } from "../scheduler/place.js";
import { assignmentId } from "./formation.js";

/** What a one-off runs: process type (`run`, `test`, `release`, `cron`), release and code. */
export type OneoffSpec = Pick<
  Assignment,
  "processType" | "release" | "command" | "artifact" | "image" | "runtime" | "container"
> &
  Partial<Pick<Assignment, "config" | "build">>;

/** An instance that stays on its node; its kind and index count when it is one of the app's. */
export type Staying = Placed & Partial<Pick<Assignment, "kind" | "index">>;

export interface OneoffInput {
  app: string;
  rec: App;
  /** Every assignment that runs (desired `running`), all apps: placement spreads load. */
  running: readonly Staying[];
  /** Live node names. */
  nodes: readonly string[];
  spec: OneoffSpec;
  createdAt: string;
  suffix: string;
}

/** The assignment of a one-off on the least busy live node; undefined when there is none. */
export function oneoffAssignment(i: OneoffInput): Assignment | undefined {
  const [node] = place({ nodes: i.nodes, app: i.app, count: 1, existing: i.running });
  if (node === undefined) return undefined;
  const index =
    Math.max(
      0,
      ...i.running.filter((a) => a.app === i.app && a.kind === "oneoff").map((a) => a.index ?? 0),
    ) + 1;
  return {
    ...i.spec,
    id: assignmentId(i.app, i.spec.release, i.spec.processType, index, i.suffix),
    app: i.app,
    index,
    node,
    kind: "oneoff",
    desired: "running",
    healthPath: i.rec.healthPath,
    createdAt: i.createdAt,
  };
}
