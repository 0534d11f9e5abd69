import type { Principal } from "../model/principal.js";
import type { Build } from "../model/app.js";

/** How releasing a build ended: the version that now serves and its URL, or why not. */
export interface ReleaseOutcome {
  ok: boolean;
  version?: number;
  url?: string;
  error?: string;
}

/**
 * What the build route needs from the apps service (src/apps/): make release N+1 of a
 * succeeded build, deploy it and wait for the deploy, writing progress lines to `onLine`.
 * Plugged into ApiDeps as `apps`; without it, builds succeed but nothing is deployed.
 */
export interface ReleaseHook {
  releaseFromBuild(
    app: string,
    build: Build,
    who: Principal,
    onLine: (line: string) => void,
    /** Aborted when the request goes away: a push's release is then abandoned, not left to go live. */
    signal?: AbortSignal,
  ): Promise<ReleaseOutcome>;
}
