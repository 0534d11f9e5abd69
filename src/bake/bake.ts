import type Docker from "dockerode";
import { ValidationError } from "../errors.js";
import { readStatesDir } from "../converge/files.js";
import { loadStates } from "../converge/load.js";
import { loadRunnerBundle } from "../converge/ssh/runner-bundle.js";
import type { ConvergeEvent, Report } from "../converge/types.js";
import { commitBake, commitConfig } from "./commit.js";
import { runInContainer, type ContainerOutcome } from "./container.js";
import { checkFreeSpace, findBaked, inspectBase } from "./engine-io.js";
import { failure, BakeFailed } from "./failure.js";
import { bakeIdentity } from "./identity.js";
import { bakeLabels, checkBakeName, containerName, imageRepo } from "./names.js";
import { pushedRef, pushImage, type RegistryTarget } from "./push.js";

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
  engine: Docker;
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
 * is reused as it is: no container, no rebuild.
 */
export async function bake(req: BakeRequest, deps: BakeDeps): Promise<BakeResult> {
  const started = performance.now();
  const { engine } = deps;
  const emit = (e: BakeEvent): void => deps.onEvent?.(e);
  checkBakeName(req.name);
  if (req.role === "") throw new ValidationError("--role must name a role of top.yaml", "--role");
  const files = readStatesDir(req.statesDir);
  const base = await inspectBase(engine, req.from);
  const id = bakeIdentity({ baseId: base.id, files, role: req.role, vars: req.vars });
  const repo = imageRepo(req.name);
  const tag = `${repo}:${id.short}`;
  const done = (
    imageId: string,
    ref: string,
    reused: boolean,
    pushed: boolean,
    report?: Report,
  ): BakeResult => ({
    name: req.name,
    key: id.key,
    id: imageId,
    tag,
    ref,
    reused,
    pushed,
    base: base.id,
    report,
    durationMs: Math.round(performance.now() - started),
  });

  const found = await findBaked(engine, id.key);
  if (found !== undefined) {
    const target = await deps.registry?.();
    if (target === undefined) return done(found.id, found.id, true, false);
    const already = pushedRef(found.digests, target.address, repo);
    if (already !== undefined) return done(found.id, already, true, true);
    emit({ kind: "step", message: `pushing ${target.address}/${repo}:${id.short}` });
    const ref = await pushImage(engine, found.id, repo, id.short, target, (line) =>
      emit({ kind: "output", line }),
    );
    return done(found.id, ref, true, true);
  }

  // Every problem in the states is found here, before a container exists.
  loadStates(files, { only: { roles: [req.role], states: [] } });
  await checkFreeSpace(engine, req.minFreeBytes, (message) => emit({ kind: "warning", message }));
  const runner = await loadRunnerBundle(deps.runnerPath);
  const labels = bakeLabels(req.name, req.role, base.id, id);
  const name = containerName(req.name, id);
  emit({ kind: "step", message: `baking ${tag}: role ${req.role} on ${req.from} in ${name}` });
  let outcome: ContainerOutcome;
  try {
    outcome = await runInContainer({
      engine,
      image: base.id,
      imageUser: base.config.User ?? "",
      name,
      labels,
      job: {
        files,
        roles: [req.role],
        states: [],
        nodeVars: {},
        extraVars: req.vars,
        labels: {},
        check: false,
        host: `bake-${req.name}`,
      },
      runnerPath: runner.path,
      onEvent: (event) => emit({ kind: "converge", event }),
      onStderr: (line) => emit({ kind: "output", line }),
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });
  } catch (err) {
    const c = (err as { container?: Docker.Container }).container;
    if (c !== undefined && req.onError === "abort") await c.remove({ force: true }).catch(() => {});
    throw err;
  }

  const { container, report } = outcome;
  if (outcome.exitCode !== 0 || report === undefined || report.summary.failed > 0) {
    const err: BakeFailed = failure(outcome, deps.signal?.aborted === true);
    if (req.onError === "keep") err.kept = name;
    else await container.remove({ force: true }).catch(() => {});
    throw err;
  }
  emit({ kind: "step", message: `committing ${tag}` });
  let imageId: string;
  try {
    imageId = await commitBake(container, repo, id.short, commitConfig(base, labels));
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
  const target = await deps.registry?.();
  if (target === undefined) return done(imageId, imageId, false, false, report);
  emit({ kind: "step", message: `pushing ${target.address}/${repo}:${id.short}` });
  const ref = await pushImage(engine, imageId, repo, id.short, target, (line) =>
    emit({ kind: "output", line }),
  );
  return done(imageId, ref, false, true, report);
}
