import type Docker from "dockerode";
import { ValidationError } from "../errors.js";
import { readStatesDir } from "../converge/files.js";
import type { ConvergeEvent, Report } from "../converge/types.js";
import { bakeIdentity } from "./identity.js";
import { BakeError } from "./errors.js";
import { findBaked, inspectBase, socketPath } from "./lookup.js";
import { checkBakeName, imageRepo } from "./names.js";
import type { RegistryTarget } from "./push.js";

export interface BakeRequest {
  name: string;
  /** The base image (a tag or id on this engine). */
  from: string;
  statesDir: string;
  role: string;
  vars: Record<string, unknown>;
  /** `abort` removes a failed bake's container; `keep` leaves it for inspection. */
  onError: "abort" | "keep";
  /** Refuse to start below this many free bytes on Docker's data root (0: no floor). */
  minFreeBytes: number;
}

/** What a bake tells as it goes. */
export type BakeEvent =
  | { kind: "step"; message: string }
  | { kind: "converge"; event: ConvergeEvent }
  | { kind: "output"; line: string }
  | { kind: "warning"; message: string };

export interface BakeDeps {
  /** The engine's socket (default: DOCKER_HOST, else /var/run/docker.sock). */
  socketPath?: string;
  /** The converge runner bundle to mount (default: dist/converge-runner.mjs). */
  runnerPath?: string;
  /** Gantry's registry, asked only when there is an image to push; undefined = no push. */
  registry?: () => Promise<RegistryTarget | undefined>;
  onEvent?: (e: BakeEvent) => void;
  signal?: AbortSignal;
}

export interface BakeResult {
  name: string;
  key: string;
  /** The image's id (sha256:…). */
  id: string;
  /** The local tag, images/NAME:<short key>. */
  tag: string;
  /** Pinned by digest when pushed (<registry>/images/NAME@sha256:…), else the image id. */
  ref: string;
  reused: boolean;
  pushed: boolean;
  base: string;
  report: Report | undefined;
  durationMs: number;
}

/**
 * Bake a node image: converge ROLE inside a container from the base image, commit it, label it
 * with its identity, push it when Gantry's registry is there. An image with the same identity
 * is reused as it is: no container, no rebuild, and dockerode is not even loaded.
 */
export async function bake(req: BakeRequest, deps: BakeDeps = {}): Promise<BakeResult> {
  const started = performance.now();
  const emit = (e: BakeEvent): void => deps.onEvent?.(e);
  const socket = deps.socketPath ?? socketPath();
  checkBakeName(req.name);
  if (req.role === "") throw new ValidationError("--role must name a role of top.yaml", "--role");
  const files = readStatesDir(req.statesDir);
  const base = await inspectBase(socket, req.from).catch(async (err: unknown) => {
    // Gantry's own base image is made here when this engine lacks it (it needs no hub).
    if (!(err instanceof BakeError && err.code === "bake_image_missing")) throw err;
    if (!/^gantry\/base(:latest)?$/.test(req.from)) throw err;
    const { ensureBaseImage } = await import("../containers/base-image.js");
    const { dockerEngine } = await import("../docker/engine.js");
    await ensureBaseImage(dockerEngine(socket));
    return inspectBase(socket, req.from);
  });
  const id = bakeIdentity({
    name: req.name,
    baseId: base.id,
    files,
    role: req.role,
    vars: req.vars,
  });
  const repo = imageRepo(req.name);

  let engine: Docker | undefined;
  const getEngine = async (): Promise<Docker> => {
    const { dockerEngine } = await import("../docker/engine.js");
    return (engine ??= dockerEngine(socket));
  };
  const finish = async (
    imageId: string,
    digests: string[],
    reused: boolean,
    report?: Report,
  ): Promise<BakeResult> => {
    let ref = imageId;
    const target = await deps.registry?.();
    if (target !== undefined) {
      const { pushedRef, pushImage } = await import("./push.js");
      const pushed = pushedRef(digests, target.address, repo);
      if (pushed !== undefined) ref = pushed;
      else {
        emit({ kind: "step", message: `pushing ${target.address}/${repo}:${id.short}` });
        const onLine = (line: string): void => emit({ kind: "output", line });
        ref = await pushImage(await getEngine(), imageId, repo, id.short, target, onLine);
      }
    }
    return {
      name: req.name,
      key: id.key,
      id: imageId,
      tag: `${repo}:${id.short}`,
      ref,
      reused,
      pushed: target !== undefined,
      base: base.id,
      report,
      durationMs: Math.round(performance.now() - started),
    };
  };

  const found = await findBaked(socket, id.key);
  if (found !== undefined) return finish(found.id, found.digests, true);
  const { makeImage } = await import("./make-image.js");
  const made = await makeImage({
    req,
    engine: await getEngine(),
    base,
    id,
    files,
    runnerPath: deps.runnerPath,
    emit,
    signal: deps.signal,
  });
  return finish(made.imageId, [], false, made.report);
}
