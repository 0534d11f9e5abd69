/**
 * Dockerfile builds (issue 12): a pushed source with a `Dockerfile` at its root is built into an
 * image by the engine's BuildKit, labelled, pushed to Gantry's registry and pinned by digest.
 * App config never reaches the build: only the build args the app declares (`App.buildArgs`).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import type Docker from "dockerode";
import { BASE_LATEST, ensureBaseImage, usesBaseImage } from "../containers/base-image.js";
import { BuildTrace } from "./docker-trace.js";
import { engineBuild, enginePush, type RegistryHandle } from "./docker-engine-calls.js";
import { appRepository, checkFreeSpace, freeBytes, imageLabels } from "./docker-inputs.js";
import { BuildError } from "./errors.js";
import { parseProcfile } from "./procfile.js";
import { packDirectory } from "./tarball.js";
import { pruneDangling } from "./docker-images.js";

export type { RegistryHandle } from "./docker-engine-calls.js";

/** What a server gives the builder for Dockerfile builds. */
export interface DockerBuildDeps {
  engine: Docker;
  /** Where images go; undefined when this server runs no registry (Dockerfile builds then fail). */
  registry: RegistryHandle | undefined;
  /** Build args selected from the app's config (selectBuildArgs). */
  buildArgs: { args: Record<string, string>; missing: string[] };
}

export interface DockerBuildInput {
  /** The unpacked source (it has a Dockerfile). */
  dir: string;
  app: string;
  buildId: string;
  /** The version its release is expected to get (the image's `gantry.release` label). */
  release?: number;
  /** The free-space floor applies to this directory's filesystem. */
  dataDir: string;
  minFreeBytes: number;
  docker: DockerBuildDeps;
  say: (line: string) => void;
  signal?: AbortSignal;
}

export interface DockerBuildOutput {
  /** `<registry>/<app>@sha256:…` */
  image: string;
  processTypes: Record<string, string>;
}

/** Whether a source directory is built from its Dockerfile. */
export const hasDockerfile = (dir: string): boolean => existsSync(join(dir, "Dockerfile"));

/** Process types of an image build: the Procfile's when there is one, else the image's CMD as web. */
export function imageProcessTypes(dir: string): Record<string, string> {
  const procfile = join(dir, "Procfile");
  return existsSync(procfile) ? parseProcfile(readFileSync(procfile, "utf8")) : { web: "" };
}

/**
 * Build, label and push the image; answers it pinned by digest. A failing step throws a
 * BuildError naming the step and the engine's error (its output has gone to `say` already).
 */
export async function buildDockerfile(o: DockerBuildInput): Promise<DockerBuildOutput> {
  checkFreeSpace(o.dataDir, freeBytes(o.dataDir), o.minFreeBytes);
  const registry = o.docker.registry;
  if (registry === undefined)
    throw new BuildError(
      "this server runs no image registry, which a Dockerfile build pushes to (start it with Docker available, without --no-registry)",
    );
  const processTypes = imageProcessTypes(o.dir);
  o.say("-----> Dockerfile detected: building an image (BuildKit)");
  if (usesBaseImage(readFileSync(join(o.dir, "Dockerfile"), "utf8")))
    o.say(`       base image ${await ensureBaseImage(o.docker.engine)} (${BASE_LATEST})`);
  const { args, missing } = o.docker.buildArgs;
  const names = Object.keys(args);
  if (names.length > 0) o.say(`       build args: ${names.join(", ")}`);
  for (const m of missing)
    o.say(`       build arg ${m} is not set: the Dockerfile's default applies`);
  const repo = appRepository(registry.address, o.app);
  const trace = new BuildTrace(o.say);
  await engineBuild(
    o.docker.engine,
    {
      context: Readable.from(packDirectory(o.dir)),
      tag: `${repo}:${o.buildId}`,
      labels: imageLabels(o.app, o.buildId, o.release),
      buildArgs: args,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    },
    (line) => trace.line(line),
  );
  trace.end();
  const { error, failedStep, imageId } = trace.outcome;
  if (error !== undefined)
    throw new BuildError(failedStep === undefined ? error : `step ${failedStep} failed: ${error}`);
  if (imageId === undefined) throw new BuildError("the engine's build ended without an image");
  o.signal?.throwIfAborted();
  o.say(`-----> Pushing ${repo}:${o.buildId}`);
  const push = (): Promise<string> =>
    enginePush(
      o.docker.engine,
      repo,
      o.buildId,
      registry.auth(),
      (line) => o.say(`       ${line}`),
      o.signal,
    );
  const digest = await (registry.withPush ? registry.withPush(push) : push());
  await pruneDangling(o.docker.engine, o.app);
  const types = Object.keys(processTypes);
  o.say(
    processTypes["web"] === "" && types.length === 1
      ? "-----> Process types: web (the image's CMD)"
      : `-----> Procfile declares types -> ${types.join(", ")}`,
  );
  return { image: `${repo}@${digest}`, processTypes };
}
