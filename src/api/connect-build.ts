/**
 * Builds of a connected app's commits (apps:connect): the commit is fetched from the outside
 * repo into a mirror on this server (`DATA_DIR/connect/<app>.git`, `git fetch` with argv and a
 * time limit), archived, and built and released through buildAndRelease. One build at a time
 * per app on a server (a queue), and one build per commit across servers: the connection record
 * is claimed by compare-and-swap first, so a webhook and the poll, or a push delivered twice,
 * build a commit once. The build's lines go to the app's log (source `build`), as a push's do.
 */
import { join } from "node:path";
import { rmSync } from "node:fs";
import type { Readable } from "node:stream";
import {
  claimBuild,
  dropClaim,
  finishBuild,
  readConnection,
  type Claim,
} from "../apps/connect-records.js";
import type { AppConnection } from "../model/connect.js";
import type { Principal } from "../model/principal.js";
import {
  archiveCommit,
  displayUrl,
  fetchInto,
  hasCommit,
  type RemoteOptions,
} from "../gitops/remote.js";
import { buildAndRelease } from "./build-release.js";
import { KeyedQueue } from "./routes/git.js";
import type { ApiDeps } from "./server.js";

/** The sealing context of a connection's secret and repo URL (the apps SecretBox). */
export const sealContext = (app: string, what: "secret" | "repo"): string =>
  `connect/apps/${app}/${what}`;

/** `DATA_DIR/connect/<app>.git`. */
export const mirrorPath = (dataDir: string, app: string): string =>
  join(dataDir, "connect", `${app}.git`);

/** Whether connections may name local paths and file:// URLs (GANTRY_CONNECT_ALLOW_FILE=1). */
export function connectRemoteOptions(): RemoteOptions {
  return { allowFile: process.env["GANTRY_CONNECT_ALLOW_FILE"] === "1" };
}

export interface ConnectedBuildJob {
  app: string;
  commit: string;
  /** Where it came from, for the build's author and the audit log ("webhook", "poll"…). */
  via: string;
  /**
   * Where the commit is looked for, in turn, until the mirror has it (default: the connected
   * branch); its id itself is asked for last (a commit force-pushed over).
   */
  refspecs?: string[];
  /** The queue the build waits in (default the app: one build of the app at a time). */
  queue?: string;
  /** Build it instead of the normal build and release (review apps); default buildAndRelease. */
  build?: (source: Readable, who: Principal) => Promise<BuiltResult>;
  /** Skip the once-per-commit claim (a review app's build is not the connected branch's). */
  unclaimed?: boolean;
}

export interface BuiltResult {
  ok: boolean;
  build?: string;
  error?: string;
}

export type ConnectedBuildOutcome =
  | { status: "built"; ok: boolean; build?: string; error?: string }
  | { status: "skipped"; why: Exclude<Claim, "claimed"> }
  | { status: "failed"; error: string };

const queues = new WeakMap<ApiDeps, KeyedQueue>();

/** Queue the build of `job.commit`; resolves when it ended (or was skipped). Never rejects. */
export function queueConnectedBuild(
  deps: ApiDeps,
  job: ConnectedBuildJob,
): Promise<ConnectedBuildOutcome> {
  let queue = queues.get(deps);
  if (queue === undefined) queues.set(deps, (queue = new KeyedQueue()));
  let outcome: ConnectedBuildOutcome = { status: "failed", error: "not run" };
  return queue
    .run(job.queue ?? job.app, async () => {
      outcome = await runConnectedBuild(deps, job).catch(
        (err: unknown): ConnectedBuildOutcome => ({
          status: "failed",
          error: err instanceof Error ? err.message : String(err),
        }),
      );
    })
    .then(() => outcome);
}

/** The URL git needs (credentials unsealed), for a stored connection. */
export function repoUrl(deps: ApiDeps, c: AppConnection): string {
  if (c.sealedRepo === undefined) return c.repo;
  return secretBox(deps).decrypt(c.sealedRepo, sealContext(c.app, "repo"));
}

export function secretBox(deps: ApiDeps): NonNullable<NonNullable<ApiDeps["apps"]>["secrets"]> {
  const box = deps.apps?.secrets;
  if (box === undefined) throw new Error("this server has no apps service: no secrets box");
  return box;
}

/** Remove the app's mirror on this server (disconnect). */
export function removeMirror(deps: ApiDeps, app: string): void {
  if (deps.dataDir !== undefined)
    rmSync(mirrorPath(deps.dataDir, app), { recursive: true, force: true });
}

async function runConnectedBuild(
  deps: ApiDeps,
  job: ConnectedBuildJob,
): Promise<ConnectedBuildOutcome> {
  const { store } = deps;
  const { app, commit } = job;
  if (deps.dataDir === undefined) return { status: "failed", error: "no data directory" };
  if (job.unclaimed !== true) {
    const claim = await claimBuild(store, app, commit, deps.serverId);
    if (claim !== "claimed") return { status: "skipped", why: claim };
  }
  const stored = await readConnection(store, app);
  if (stored === undefined) return { status: "skipped", why: "gone" };
  const c = stored.record;
  const url = repoUrl(deps, c);
  const mirror = mirrorPath(deps.dataDir, app);
  const log = (line: string): void => appLog(deps, app, line);
  try {
    if (!(await hasCommit(mirror, commit))) {
      log(`-----> Fetching ${commit.slice(0, 12)} from ${displayUrl(url)} (${job.via})`);
      const specs = job.refspecs ?? [`+refs/heads/${c.branch}:refs/connect/${c.branch}`];
      await fetchCommit(mirror, url, commit, [...specs, commit], deps.closing);
    }
  } catch (err) {
    const error = `cannot fetch ${commit.slice(0, 12)} from ${displayUrl(url)}: ${(err as Error).message}`;
    log(` !     ${error}`);
    if (job.unclaimed !== true) await dropClaim(store, app, commit, error);
    return { status: "failed", error };
  }
  const who: Principal = { name: `${c.createdBy} (${job.via})`, tokenId: "", policies: [] };
  const archive = archiveCommit(mirror, commit, deps.closing);
  let result: BuiltResult;
  if (job.build !== undefined) {
    result = await job.build(archive.stream, who);
  } else {
    const r = await buildAndRelease(deps, {
      app,
      commit,
      source: archive.stream,
      who,
      startOps: [deps.audit.entry(who, "app.connect.build", `${app}@${commit}`)],
      // The lines go to the app's log (buildAndRelease writes them there): no one else listens.
      write: () => undefined,
      signal: deps.closing,
    });
    result = {
      ok: r.ok,
      ...(r.build ? { build: r.build } : {}),
      ...(r.error ? { error: r.error } : {}),
    };
  }
  await archive.done.catch((err: Error) => {
    if (result.ok) result = { ...result, ok: false, error: err.message };
  });
  if (job.unclaimed !== true) await finishBuild(store, app, commit, result);
  return { status: "built", ...result };
}

/** Fetch each refspec in turn until the mirror holds `commit`; the last failure is thrown. */
async function fetchCommit(
  mirror: string,
  url: string,
  commit: string,
  specs: string[],
  signal: AbortSignal,
): Promise<void> {
  const opts = connectRemoteOptions();
  let last: unknown;
  for (const spec of specs) {
    try {
      await fetchInto(mirror, url, [spec], signal, opts);
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (await hasCommit(mirror, commit)) return;
  }
  throw last instanceof Error ? last : new Error(`the repository does not hold ${commit}`);
}

function appLog(deps: ApiDeps, app: string, line: string): void {
  try {
    deps.apps?.logs?.append(app, [{ source: "build", line }]);
  } catch {
    // the app's log directory went with apps:destroy
  }
}
