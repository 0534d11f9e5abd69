import type { App, Assignment, Deploy, InstanceStatus } from "../model/app.js";

/**
 * What `GET /v1/apps?status` adds to each app (the dashboard's apps list and overview): its
 * instances and the state they add up to, and its last deploy — so a list of 500 apps is one
 * request, not one per app.
 */
export interface AppStatusView {
  /**
   * `new` (no release yet), `deploying` (a deploy is running), `crashed` (an instance of the
   * formation crashed), `failed` (the last deploy failed), `stopped` (scaled to zero),
   * `starting` (fewer running than wanted), `running`.
   */
  state: "new" | "deploying" | "crashed" | "failed" | "stopped" | "starting" | "running";
  /** Formation instances the agents report running. */
  running: number;
  /** Formation instances assigned to run (not one-offs, not draining old ones). */
  desired: number;
  /** The last deploy, without its log. */
  deploy?: { release: number; status: Deploy["status"]; startedAt: string; finishedAt?: string };
}

/** The status of every app in `apps`, from all assignments, instance reports and deploys. */
export function appStatuses(
  apps: readonly App[],
  assignments: readonly Pick<Assignment, "id" | "app" | "kind" | "desired">[],
  statuses: readonly Pick<InstanceStatus, "id" | "state">[],
  deploys: readonly Pick<Deploy, "app" | "release" | "status" | "startedAt" | "finishedAt">[],
): Map<string, AppStatusView> {
  const state = new Map(statuses.map((s) => [s.id, s.state]));
  const counts = new Map<string, { running: number; desired: number; crashed: number }>();
  for (const a of assignments) {
    if (a.kind !== "run" || a.desired !== "running") continue;
    let c = counts.get(a.app);
    if (c === undefined) counts.set(a.app, (c = { running: 0, desired: 0, crashed: 0 }));
    c.desired++;
    const s = state.get(a.id);
    if (s === "running") c.running++;
    else if (s === "crashed") c.crashed++;
  }
  const lastDeploy = new Map(deploys.map((d) => [d.app, d]));
  const out = new Map<string, AppStatusView>();
  for (const app of apps) {
    const c = counts.get(app.name) ?? { running: 0, desired: 0, crashed: 0 };
    const d = lastDeploy.get(app.name);
    const view: AppStatusView = {
      state: stateOf(app, c, d),
      running: c.running,
      desired: c.desired,
    };
    if (d !== undefined)
      view.deploy = {
        release: d.release,
        status: d.status,
        startedAt: d.startedAt,
        ...(d.finishedAt === undefined ? {} : { finishedAt: d.finishedAt }),
      };
    out.set(app.name, view);
  }
  return out;
}

function stateOf(
  app: App,
  c: { running: number; desired: number; crashed: number },
  d: Pick<Deploy, "status"> | undefined,
): AppStatusView["state"] {
  if (d?.status === "running") return "deploying";
  if (app.currentRelease === 0) return "new";
  if (c.crashed > 0) return "crashed";
  if (d?.status === "failed") return "failed";
  if (c.desired === 0) return "stopped";
  if (c.running < c.desired) return "starting";
  return "running";
}
