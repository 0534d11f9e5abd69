import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isGantryError } from "../errors.js";
import { K } from "../model/keys.js";
import type { Build, PushOrigin } from "../model/app.js";
import type { Store, TxnOp } from "../store/index.js";
import { ArtifactStore } from "./artifacts.js";
import { BuildLog, pruneBuildLogs } from "./buildlog.js";
import { detect, readSourceFacts } from "./detect.js";
import { buildDockerfile, hasDockerfile, type DockerBuildDeps } from "./docker-build.js";
import { DEFAULT_MIN_FREE_BYTES } from "./docker-inputs.js";
import { BuildError } from "./errors.js";
import { DEFAULT_INSTALL_TIMEOUT_MS, formatDuration, installDependencies } from "./install.js";
import { DEFAULT_MAX_SOURCE_BYTES, formatBytes, packDirectory, unpackTar } from "./tarball.js";

export interface BuildSettings {
  /** Largest source archive accepted (bytes, as received). */
  maxSourceBytes: number;
  /** Largest `git push` accepted (bytes of the request, as received). */
  maxPushBytes: number;
  /** Time limit for installing dependencies (ms). */
  installTimeoutMs: number;
  /** Build logs kept per app. */
  keepLogs: number;
  /** The npm executable and leading arguments. */
  npm: string[];
  /** A Dockerfile build refuses to start with less free space on the data dir's filesystem. */
  minFreeBytes: number;
}

export const DEFAULT_BUILD_SETTINGS: BuildSettings = {
  maxSourceBytes: DEFAULT_MAX_SOURCE_BYTES,
  maxPushBytes: DEFAULT_MAX_SOURCE_BYTES,
  installTimeoutMs: DEFAULT_INSTALL_TIMEOUT_MS,
  keepLogs: 50,
  npm: ["npm"],
  minFreeBytes: DEFAULT_MIN_FREE_BYTES,
};

export interface RunBuildOptions {
  dataDir: string;
  store: Store;
  app: string;
  /** The pushed commit, or "upload". */
  commit: string;
  /** The source as a tar (or tar.gz) stream. */
  source: AsyncIterable<Uint8Array>;
  /** A stack's content hash of the folder the source came from (kept as Build.source). */
  sourceHash?: string;
  createdBy: string;
  /** The push whose commit this builds (kept on the Build: see PushOriginSchema). */
  push?: PushOrigin;
  /** Written in the same transaction as the build's first record (the API's audit entry). */
  startOps?: TxnOp[];
  /** Each line of build output, as it happens. */
  onLine?: (line: string) => void;
  /** Abandon the build (the pusher went away): the install is killed, the build fails. */
  signal?: AbortSignal;
  settings?: Partial<BuildSettings>;
  /** For a source with a Dockerfile: the engine, registry and build args (asked only then). */
  docker?: () => Promise<DockerBuildDeps>;
}

export const buildKey = (app: string, id: string): string => `${K.builds}${app}/${id}`;

/**
 * The version the next release of `app` gets, as of now: what an image is labelled with
 * (`gantry.release`). A release made while the build runs (a config change) takes it first;
 * the release then records the image, whatever its label says.
 */
async function nextReleaseVersion(store: Store, app: string): Promise<number> {
  const res = await store.range({ prefix: `${K.releases}${app}/` }, { keysOnly: true });
  const last = res.kvs.at(-1)?.key;
  return (last === undefined ? 0 : Number(last.slice(last.lastIndexOf("/") + 1))) + 1;
}

/** Build ids sort by time: `20250102-030405-678-ab12` (UTC). */
export function newBuildId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, "").replace("T", "-").replace(".", "-").slice(0, 19);
  return `${t}-${randomBytes(2).toString("hex")}`;
}

/**
 * Build a slug: unpack the source into a clean directory, detect how it runs, install its
 * dependencies, pack it as a content-addressed artifact. The Build record is written when the
 * build starts and when it ends; the output goes to `onLine` and to the build's log file.
 * Problems with the source end as a failed Build (never a throw); only Store errors throw.
 */
export async function runBuild(opts: RunBuildOptions): Promise<Build> {
  const settings = { ...DEFAULT_BUILD_SETTINGS, ...opts.settings };
  const started = Date.now();
  const id = newBuildId(new Date(started));
  let build: Build = {
    id,
    app: opts.app,
    status: "building",
    commit: opts.commit,
    ...(opts.sourceHash === undefined ? {} : { source: opts.sourceHash }),
    startedAt: new Date(started).toISOString(),
    createdBy: opts.createdBy,
    ...(opts.push === undefined ? {} : { push: opts.push }),
  };
  const key = buildKey(opts.app, id);
  await opts.store.txn({
    success: [{ type: "put", key, value: JSON.stringify(build) }, ...(opts.startOps ?? [])],
  });
  const log = new BuildLog(opts.dataDir, opts.app, id);
  const say = (line: string): void => {
    log.line(line);
    opts.onLine?.(line);
  };
  const work = mkdtempSync(join(tmpdir(), `gantry-build-${opts.app}-`));
  try {
    const appDir = join(work, "app");
    mkdirSync(appDir);
    say(
      `-----> Building ${opts.app} from ${opts.commit === "upload" ? "an upload" : `commit ${opts.commit.slice(0, 12)}`}`,
    );
    const { bytes } = await unpackTar(opts.source, appDir, { maxBytes: settings.maxSourceBytes });
    opts.signal?.throwIfAborted();
    say(`       source: ${formatBytes(bytes)}`);
    if (hasDockerfile(appDir)) {
      build = await imageBuild(opts, build, appDir, settings, say);
      await opts.store.put(key, JSON.stringify(build));
      say(`-----> Build succeeded: ${build.image} (${formatDuration(Date.now() - started)})`);
      return build;
    }
    const detected = detect(readSourceFacts(appDir));
    say(detected.stack === "node" ? "-----> Node app detected" : "-----> Procfile app detected");
    if (detected.install !== undefined) {
      const { command, dependencies } = detected.install;
      say(
        `-----> Installing dependencies (npm ${command}, ${dependencies} ${dependencies === 1 ? "dependency" : "dependencies"})`,
      );
      const t0 = Date.now();
      await installDependencies({
        dir: appDir,
        command,
        cacheDir: join(opts.dataDir, "cache", opts.app, "npm"),
        timeoutMs: settings.installTimeoutMs,
        onLine: say,
        npm: settings.npm,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      say(`       installed in ${formatDuration(Date.now() - t0)}`);
    } else if (detected.stack === "node") {
      say("-----> No dependencies to install");
    }
    const types = Object.entries(detected.processTypes);
    say(
      detected.typesFrom === "Procfile"
        ? `-----> Procfile declares types -> ${types.map(([t]) => t).join(", ")}`
        : `-----> Default process type: web: npm start (from package.json)`,
    );
    opts.signal?.throwIfAborted();
    const { sha, size } = await new ArtifactStore(opts.dataDir).put(packDirectory(appDir));
    say(`-----> Compressed: ${formatBytes(size)}`);
    build = {
      ...build,
      status: "succeeded",
      finishedAt: new Date().toISOString(),
      kind: "slug",
      artifact: sha,
      processTypes: detected.processTypes,
      stack: detected.stack,
    };
    await opts.store.put(key, JSON.stringify(build));
    say(
      `-----> Build succeeded: artifact ${sha.slice(0, 12)} (${formatDuration(Date.now() - started)})`,
    );
  } catch (err) {
    const message = failureMessage(err, opts.signal);
    say(` !     ${message}`);
    say("-----> Build failed");
    build = { ...build, status: "failed", finishedAt: new Date().toISOString(), error: message };
    await opts.store.put(key, JSON.stringify(build));
  } finally {
    rmSync(work, { recursive: true, force: true });
    pruneBuildLogs(opts.dataDir, opts.app, settings.keepLogs);
  }
  return build;
}

/** The Dockerfile part of runBuild: the build record as it ends when the image is pushed. */
async function imageBuild(
  opts: RunBuildOptions,
  build: Build,
  dir: string,
  settings: BuildSettings,
  say: (line: string) => void,
): Promise<Build> {
  if (opts.docker === undefined)
    throw new BuildError(
      "the source has a Dockerfile, but this server has no Docker engine to build it with",
    );
  const out = await buildDockerfile({
    dir,
    app: opts.app,
    buildId: build.id,
    release: await nextReleaseVersion(opts.store, opts.app),
    dataDir: opts.dataDir,
    minFreeBytes: settings.minFreeBytes,
    docker: await opts.docker(),
    say,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  return {
    ...build,
    status: "succeeded",
    finishedAt: new Date().toISOString(),
    kind: "dockerfile",
    image: out.image,
    processTypes: out.processTypes,
  };
}

function failureMessage(err: unknown, signal: AbortSignal | undefined): string {
  if (signal?.aborted) return "the build was cancelled (the pusher went away)";
  if (isGantryError(err)) return err.message;
  const e = err as NodeJS.ErrnoException;
  return `the build stopped on an unexpected error: ${e?.message ?? String(err)}`;
}
