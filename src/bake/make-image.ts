import type Docker from "dockerode";
import { loadStates } from "../converge/load.js";
import { loadRunnerBundle } from "../converge/ssh/runner-bundle.js";
import type { Report } from "../converge/types.js";
import type { BakeEvent, BakeRequest } from "./bake.js";
import { commitBake, commitConfig } from "./commit.js";
import { runInContainer, type ContainerOutcome } from "./container.js";
import { checkFreeSpace } from "./engine-io.js";
import { failure } from "./failure.js";
import type { BakeIdentity } from "./identity.js";
import type { BaseImage } from "./lookup.js";
import { bakeLabels, containerName, imageRepo } from "./names.js";

export interface MakeImage {
  req: BakeRequest;
  engine: Docker;
  base: BaseImage;
  id: BakeIdentity;
  files: Record<string, string>;
  runnerPath: string | undefined;
  emit: (e: BakeEvent) => void;
  signal: AbortSignal | undefined;
}

/**
 * The slow half of a bake, when no image has its identity yet: check the states and the disk,
 * converge in a container, commit it. A failure removes the container (or keeps it with
 * `keep`) and throws a BakeFailed; no image is made.
 */
export async function makeImage(m: MakeImage): Promise<{ imageId: string; report: Report }> {
  const { req, engine, base, id, emit } = m;
  // Every problem in the states is found here, before a container exists.
  loadStates(m.files, { only: { roles: [req.role], states: [] } });
  await checkFreeSpace(engine, req.minFreeBytes, (message) => emit({ kind: "warning", message }));
  const runner = await loadRunnerBundle(m.runnerPath);
  const labels = bakeLabels(req.name, req.role, base.id, id);
  const name = containerName(req.name, id);
  const repo = imageRepo(req.name);
  emit({
    kind: "step",
    message: `baking ${repo}:${id.short}: role ${req.role} on ${req.from} in ${name}`,
  });
  let outcome: ContainerOutcome;
  try {
    outcome = await runInContainer({
      engine,
      image: base.id,
      imageUser: base.config.User ?? "",
      name,
      labels,
      job: {
        files: m.files,
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
      ...(m.signal === undefined ? {} : { signal: m.signal }),
    });
  } catch (err) {
    const c = (err as { container?: Docker.Container }).container;
    if (c !== undefined && req.onError === "abort") await c.remove({ force: true }).catch(() => {});
    throw err;
  }

  const { container, report } = outcome;
  if (outcome.exitCode !== 0 || report === undefined || report.summary.failed > 0) {
    const err = failure(outcome, m.signal?.aborted === true);
    if (req.onError === "keep") err.kept = name;
    else await container.remove({ force: true }).catch(() => {});
    throw err;
  }
  emit({ kind: "step", message: `committing ${repo}:${id.short}` });
  try {
    const imageId = await commitBake(container, repo, id.short, commitConfig(base, labels));
    return { imageId, report };
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}
