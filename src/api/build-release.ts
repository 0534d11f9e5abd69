/**
 * A build and its release, as one step every source of code shares: a `git push` (the build
 * route), a branch push to a review app, a connected outside repository (its webhook or poll).
 * Builds the source stream, runs its tests when the app has a test command (a failure refuses
 * the push: nothing is released), then releases and deploys the build through the apps service,
 * writing every line to `write` (the pusher sees them) and to the app's log.
 */
import type { Readable } from "node:stream";
import { DEFAULT_BUILD_SETTINGS, runBuild } from "../build/builder.js";
import type { DockerBuildDeps } from "../build/docker-build.js";
import { selectBuildArgs } from "../build/docker-inputs.js";
import type { BuildStreamResult } from "../build/result.js";
import { readApp } from "../apps/records.js";
import { dockerEngine } from "../docker/engine.js";
import { HttpError } from "../errors.js";
import type { Build, PushOrigin } from "../model/app.js";
import type { Principal } from "../model/principal.js";
import type { TxnOp } from "../store/index.js";
import { runBuildTests } from "./build-test.js";
import type { ApiDeps } from "./server.js";

export interface BuildAndReleaseOptions {
  app: string;
  /** The git commit (or "upload"). */
  commit: string;
  /** The source: a tar stream. */
  source: Readable;
  /** A stack folder's content hash, kept on the build. */
  sourceHash?: string;
  /** The push it builds, tying what it releases to it (docs/apps.md, "An interrupted push"). */
  push?: PushOrigin;
  who: Principal;
  /** Written with the build record (e.g. the audit entry). */
  startOps?: TxnOp[];
  write: (line: string) => void;
  signal: AbortSignal;
}

/** Build `source` for `app`, then release and deploy it; the outcome as the hook reads it. */
export async function buildAndRelease(
  deps: ApiDeps,
  o: BuildAndReleaseOptions,
): Promise<BuildStreamResult> {
  const dataDir = deps.dataDir;
  if (dataDir === undefined) {
    throw new HttpError(
      503,
      "unavailable",
      "this server has no data directory: builds are not available",
    );
  }
  const build = await runBuild({
    dataDir,
    store: deps.store,
    app: o.app,
    commit: o.commit,
    source: o.source,
    ...(o.sourceHash === undefined ? {} : { sourceHash: o.sourceHash }),
    ...(o.push === undefined ? {} : { push: o.push }),
    createdBy: o.who.name,
    startOps: o.startOps ?? [],
    onLine: (line) => {
      o.write(line);
      toAppLog(deps, o.app, line);
    },
    signal: o.signal,
    settings: { ...DEFAULT_BUILD_SETTINGS, ...deps.build },
    docker: () => dockerDeps(deps, o.app),
  });
  const refused = await tests(deps, o.who, build, o.write, o.signal);
  if (refused !== undefined) return refused;
  return release(deps, o.who, build, o.write, o.signal);
}

/**
 * Tests before release (issue 15; src/api/build-test.ts): a succeeded build of an app with a
 * test command is released only when they pass. The refusal when they did not.
 */
async function tests(
  deps: ApiDeps,
  who: Principal,
  build: Build,
  write: (line: string) => void,
  signal: AbortSignal,
): Promise<BuildStreamResult | undefined> {
  if (build.status !== "succeeded" || (build.artifact === undefined && build.image === undefined))
    return undefined;
  if (signal.aborted) return undefined; // release() says it was cancelled
  const r = await runBuildTests(deps, build, who, write, signal);
  if (r.ok) return undefined;
  return {
    ok: false,
    build: build.id,
    ...(build.artifact === undefined ? {} : { artifact: build.artifact }),
    ...(build.image === undefined ? {} : { image: build.image }),
    error: r.error,
  };
}

/** Build output also goes to the app's log (`gantry logs`), tagged `build`, when there is one. */
function toAppLog(deps: ApiDeps, app: string, line: string): void {
  try {
    deps.apps?.logs?.append(app, [{ source: "build", line }]);
  } catch {
    // The build's own log file has the line; the app log is a convenience.
  }
}

/** What a Dockerfile build of `app` uses: the engine, the registry, its declared build args. */
async function dockerDeps(deps: ApiDeps, app: string): Promise<DockerBuildDeps> {
  const declared = (await readApp(deps.store, app)).value.buildArgs ?? [];
  const config =
    declared.length === 0 || deps.apps?.config === undefined
      ? {}
      : (await deps.apps.config(app)).values;
  return {
    engine: deps.docker ?? dockerEngine(),
    registry: deps.registry,
    buildArgs: selectBuildArgs(declared, config),
  };
}

/** After a build: release and deploy it through the apps service, and say how that went. */
async function release(
  deps: ApiDeps,
  who: Principal,
  build: Build,
  write: (line: string) => void,
  signal: AbortSignal,
): Promise<BuildStreamResult> {
  const base = { build: build.id };
  if (build.status !== "succeeded" || (build.artifact === undefined && build.image === undefined)) {
    return { ok: false, ...base, error: build.error ?? "the build failed" };
  }
  const done = {
    ...base,
    ...(build.artifact === undefined ? {} : { artifact: build.artifact }),
    ...(build.image === undefined ? {} : { image: build.image }),
  };
  if (signal.aborted) return { ok: false, ...done, error: "the build was cancelled" };
  if (deps.apps === undefined) {
    const error = "deploys are not available on this server (no apps service): the build was kept";
    write(` !     ${error}`);
    return { ok: false, ...done, error };
  }
  try {
    const r = await deps.apps.releaseFromBuild(build.app, build, who, write, signal);
    return {
      ok: r.ok,
      ...done,
      ...(r.version === undefined ? {} : { release: r.version }),
      ...(r.url === undefined ? {} : { url: r.url }),
      ...(r.ok ? {} : { error: r.error ?? "the deploy failed" }),
    };
  } catch (err) {
    const error = `the release failed: ${err instanceof Error ? err.message : String(err)}`;
    write(` !     ${error}`);
    return { ok: false, ...done, error };
  }
}
