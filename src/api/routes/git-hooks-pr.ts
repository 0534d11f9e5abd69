import type { HookEvent } from "../../gitops/hook-events.js";
import type { AppConnection } from "../../model/connect.js";
import type { ApiDeps } from "../server.js";

/**
 * A pull request event of a connected repo. Review apps from pull requests are not wired yet:
 * the event is taken (its delivery id recorded) and ignored, saying so.
 */
export function pullRequestEvent(
  _deps: ApiDeps,
  c: AppConnection,
  event: Extract<HookEvent, { kind: "pull_request" }>,
  _via: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return Promise.resolve({
    status: 200,
    body: {
      ignored: `pull request #${event.number} (${event.action}) of ${c.app}: review apps from pull requests are not available yet`,
    },
  });
}
