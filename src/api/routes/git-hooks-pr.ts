import { checkBranch } from "../../gitops/remote.js";
import type { HookEvent } from "../../gitops/hook-events.js";
import type { AppConnection } from "../../model/connect.js";
import type { Principal } from "../../model/principal.js";
import { reviewAppName } from "../../model/pipeline.js";
import { queueConnectedBuild } from "../connect-build.js";
import { destroyReview, reviewBuild, reviewPipeline } from "../review-apps.js";
import type { ApiDeps } from "../server.js";

type PullRequest = Extract<HookEvent, { kind: "pull_request" }>;

/**
 * A pull request of a connected repo, when the app is in a pipeline with review apps on
 * (src/api/review-apps.ts, H3's): opened, synchronize (Gitea: synchronized) and reopened fetch
 * the head (`refs/pull/N/head`, else the head branch, else the commit by id) and build it into
 * the review app of the head branch, in the background; closed destroys that review app.
 */
export async function pullRequestEvent(
  deps: ApiDeps,
  c: AppConnection,
  event: PullRequest,
  via: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const pipeline = await reviewPipeline(deps, c.app);
  if (pipeline === undefined)
    return {
      status: 200,
      body: {
        ignored: `${c.app} is in no pipeline with review apps on (gantry pipelines:create … --review-apps): pull request #${event.number} is not built`,
      },
    };
  try {
    checkBranch(event.headBranch);
  } catch {
    return {
      status: 200,
      body: { ignored: `the head branch "${event.headBranch}" is not a branch name Gantry takes` },
    };
  }
  const review = reviewAppName(pipeline.name, event.headBranch);
  const who: Principal = { name: `${c.createdBy} (${via})`, tokenId: "", policies: [] };
  const pr = { number: event.number, branch: event.headBranch, review };
  switch (event.action) {
    case "opened":
    case "synchronize":
    case "reopened":
      void queueConnectedBuild(deps, {
        app: c.app,
        commit: event.headSha,
        via: `${via}, pull request #${event.number}`,
        queue: `${c.app} pull ${event.number}`,
        unclaimed: true,
        refspecs: [
          `+refs/pull/${event.number}/head:refs/connect/pull/${event.number}`,
          `+refs/heads/${event.headBranch}:refs/connect/review/${event.headBranch}`,
        ],
        build: async (source, builder) => {
          const r = await reviewBuild(deps, {
            app: c.app,
            branch: event.headBranch,
            commit: event.headSha,
            source,
            who: builder,
            write: () => undefined,
            signal: deps.closing,
          });
          if (r === undefined) return { ok: false, error: "review apps were turned off meanwhile" };
          return {
            ok: r.ok,
            ...(r.build ? { build: r.build } : {}),
            ...(r.error ? { error: r.error } : {}),
          };
        },
      });
      return { status: 202, body: { queued: { ...pr, commit: event.headSha } } };
    case "closed":
      void destroyReview(deps, { app: c.app, branch: event.headBranch, who }).catch((err: Error) =>
        appLog(deps, c.app, ` !     cannot destroy the review app ${review}: ${err.message}`),
      );
      return { status: 202, body: { destroying: pr } };
    case "other":
      return {
        status: 200,
        body: {
          ignored: `this pull request action is not used (opened, synchronize, reopened, closed are)`,
        },
      };
  }
}

function appLog(deps: ApiDeps, app: string, line: string): void {
  try {
    deps.apps?.logs?.append(app, [{ source: "build", line }]);
  } catch {
    // the app's log directory went with apps:destroy
  }
}
