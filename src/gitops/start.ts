/**
 * GitOps on one server. The service (src/gitops/service.ts) is made with the API server, since
 * a push or a webhook may arrive at any server; the loops that follow an outside repo and
 * watch for drift run only on the controller leader, and start here.
 */
import { startDriftLoop } from "./drift.js";
import { startFollower } from "./follower.js";
import type { GitOpsService } from "./service.js";

/** Start what the leader runs (following, drift); stopped when leadership ends. */
export function leadGitOps(
  service: GitOpsService,
  log: (line: string) => void,
): { stop(): Promise<void> } {
  const loops = { service, store: service.opts.store, dataDir: service.dataDir(), log };
  const follower = startFollower(loops);
  const drift = startDriftLoop(loops);
  return { stop: async () => void (await Promise.all([follower.stop(), drift.stop()])) };
}
