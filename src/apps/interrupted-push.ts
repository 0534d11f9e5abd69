/**
 * What to do about releases whose `git push` did not complete (docs/apps.md, "An interrupted
 * push"): the pure decision, unit-tested without a store or git. The shell that reads the
 * repository and the store and writes the outcome is push-recovery.ts.
 *
 * The rule: a release made from a push is tied to it until git has moved the ref to the commit.
 * One whose push did not complete leaves nothing live: if it is still pending or deploying it
 * is abandoned (the deploy planner ends its deploy; the release that serves keeps serving); if
 * it already serves, it is abandoned too and the newest earlier release that matches the
 * repository is restored as a new release, deployed like any other.
 */
import type { App, PushOrigin, Release } from "../model/app.js";

export interface PushRecoveryInput {
  app: App;
  releases: readonly Release[];
  /** The version of the app's config record. */
  configVersion: number;
  /** This server's repository of the app: its id, and where its branches point ("" absent). */
  repo: { id: string; refs: Readonly<Record<string, string>> };
}

export interface PushRecovery {
  abandon: { version: number; reason: string }[];
  /**
   * A new release to make because the one that serves was abandoned: the code of release
   * `from` (with the app's config as it is now), or nothing at all when no earlier release
   * matches the repository.
   */
  restore?: { from?: number; description: string };
}

const short = (sha: string): string => sha.slice(0, 7);
const branchOf = (ref: string): string => ref.replace(/^refs\/heads\//, "");

/**
 * Whether a release runs code from a push into this repository that git did not take: its
 * branch does not point at the pushed commit. (Once git moves the ref the tie holds for good:
 * the branch can only move again by another push, whose own release then takes over.)
 */
export function untaken(push: PushOrigin | undefined, repo: PushRecoveryInput["repo"]): boolean {
  if (push === undefined || push.repo !== repo.id) return false;
  const at = repo.refs[push.ref];
  return at !== undefined && at !== push.commit;
}

/** Why a release of an untaken push is abandoned, in words. */
export function abandonReason(push: PushOrigin, refs: Readonly<Record<string, string>>): string {
  const branch = branchOf(push.ref);
  const at = refs[push.ref] ?? "";
  const where = at === "" ? `${branch} does not exist` : `${branch} is at ${short(at)}`;
  return `the push of ${short(push.commit)} to ${branch} did not complete (${where})`;
}

/** Decide which releases to abandon and whether to restore an earlier one. */
export function planPushRecovery(input: PushRecoveryInput): PushRecovery {
  const { app, releases, repo } = input;
  const out: PushRecovery = { abandon: [] };
  const live = (r: Release): boolean =>
    r.status === "pending" || r.status === "deploying" || r.version === app.currentRelease;
  for (const r of releases) {
    if (r.status === "abandoned" || r.status === "failed" || !live(r)) continue;
    if (untaken(r.push, repo))
      out.abandon.push({ version: r.version, reason: abandonReason(r.push!, repo.refs) });
  }
  if (out.abandon.length === 0) return out;
  const gone = new Set(out.abandon.map((a) => a.version));
  // A newer release still on its way (a rollback, say) replaces what serves by itself.
  const coming = releases.some(
    (r) =>
      (r.status === "pending" || r.status === "deploying") &&
      r.version > app.currentRelease &&
      !gone.has(r.version),
  );
  if (coming) return out;
  const byVersion = (v: number): Release | undefined => releases.find((r) => r.version === v);
  const what = (r: Release): string => `the push of ${short(r.push!.commit)} did not complete`;
  const serving = byVersion(app.currentRelease);
  if (serving !== undefined && gone.has(serving.version)) {
    const from = releases
      .filter((r) => r.status === "superseded" && !untaken(r.push, repo))
      .sort((a, b) => b.version - a.version)[0];
    out.restore =
      from === undefined
        ? {
            description: `stopped v${serving.version}: ${what(serving)}, and no earlier release matches the repository`,
          }
        : { from: from.version, description: `restored v${from.version}: ${what(serving)}` };
    return out;
  }
  // The newest config change was made on the code of an abandoned push: it was explicit, and
  // is replayed on the code that serves (else setting it again would find nothing to change).
  const replay = releases.find(
    (r) => gone.has(r.version) && r.configVersion === input.configVersion,
  );
  if (
    serving !== undefined &&
    replay !== undefined &&
    serving.configVersion !== input.configVersion
  )
    out.restore = {
      from: serving.version,
      description: `${replay.description} (on v${serving.version}: ${what(replay)})`,
    };
  return out;
}
