import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import type Docker from "dockerode";
import { engineMessage, engineStatus } from "../docker/engine.js";
import type { ConvergeEvent, Job, Report } from "../converge/types.js";
import { BakeError } from "./errors.js";
import { engineCall } from "./engine-io.js";
import { LABEL } from "./names.js";

/** Where the runner and its Job are mounted (read-only) inside the bake container. */
export const MOUNT = "/run/gantry-bake";
/** The script's exit status when the image has no usable node. */
export const EXIT_NO_NODE = 97;

/**
 * The bake container's command: a fixed script (no user string reaches a shell; the Job travels
 * as a file) that checks for node ≥ 20, then runs the converge runner with the Job on stdin.
 */
export const BAKE_SCRIPT = [
  `n=$(command -v node) || { echo "gantry: the image has no node on its PATH" >&2; exit ${EXIT_NO_NODE}; }`,
  'v=$("$n" -v 2>/dev/null)',
  `case "$v" in v[2-9][0-9].*|v[1-9][0-9][0-9]*) ;; *) echo "gantry: the image's node $v is too old (a bake needs node >= 20)" >&2; exit ${EXIT_NO_NODE};; esac`,
  `exec "$n" ${MOUNT}/runner.mjs < ${MOUNT}/job.json`,
].join("\n");

export interface ContainerRun {
  engine: Docker;
  /** The base image's id. */
  image: string;
  /** The base image's USER ("" = root). */
  imageUser: string;
  /** The container's name (gantry-bake-NAME-<short>). */
  name: string;
  labels: Record<string, string>;
  job: Job;
  /** dist/converge-runner.mjs on this machine. */
  runnerPath: string;
  onEvent: (e: ConvergeEvent) => void;
  /** A line the container wrote to stderr (node's own complaints, the script's messages). */
  onStderr: (line: string) => void;
  signal?: AbortSignal;
}

export interface ContainerOutcome {
  container: Docker.Container;
  exitCode: number;
  report: Report | undefined;
  /** The runner's `error` event, when the job could not run. */
  error: { message: string; code: string } | undefined;
  stderr: string[];
}

/**
 * Run converge in a fresh container from `image`, as root (that is what a bake is for) but with
 * no-new-privileges; resolve when it has exited. The container is left for the caller to commit
 * or remove.
 */
export async function runInContainer(run: ContainerRun): Promise<ContainerOutcome> {
  const { engine } = run;
  const dir = await mkdtemp(join(tmpdir(), "gantry-bake-"));
  try {
    await copyFile(run.runnerPath, join(dir, "runner.mjs"));
    // Vars may hold secrets: readable by this user (and the container's root) only.
    await writeFile(join(dir, "job.json"), JSON.stringify(run.job), { mode: 0o600 });
    await removeLeftover(engine, run.name);
    const container = await engineCall(
      engine.createContainer({
        name: run.name,
        Image: run.image,
        Entrypoint: ["/bin/sh", "-c", BAKE_SCRIPT],
        // Root unless the image says otherwise: then root explicitly (what a bake is for).
        ...(run.imageUser === "" ? {} : { User: "0:0" }),
        Labels: { ...run.labels, [LABEL.bake]: "container" },
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: {
          Binds: [`${dir}:${MOUNT}:ro`],
          SecurityOpt: ["no-new-privileges"],
        },
      }),
    );
    return await attachAndRun(run, container);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function attachAndRun(
  run: ContainerRun,
  container: Docker.Container,
): Promise<ContainerOutcome> {
  const stream = (await container.attach({
    stream: true,
    stdout: true,
    stderr: true,
  })) as NodeJS.ReadableStream;
  const out = new PassThrough();
  const err = new PassThrough();
  run.engine.modem.demuxStream(stream, out, err);
  stream.on("end", () => {
    out.end();
    err.end();
  });
  let report: Report | undefined;
  let error: ContainerOutcome["error"];
  const stderr: string[] = [];
  const readOut = lines(out, (line) => {
    let e: ConvergeEvent;
    try {
      e = JSON.parse(line) as ConvergeEvent;
    } catch {
      run.onStderr(line);
      return;
    }
    if (e.kind === "done") report = e.report;
    if (e.kind === "error") error = { message: e.message, code: e.code };
    run.onEvent(e);
  });
  const readErr = lines(err, (line) => {
    stderr.push(line);
    run.onStderr(line);
  });
  const kill = (): void => void container.kill().catch(() => undefined);
  run.signal?.addEventListener("abort", kill, { once: true });
  try {
    try {
      await container.start();
    } catch (e) {
      throw startError(e);
    }
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await Promise.all([readOut, readErr]);
    return { container, exitCode: StatusCode, report, error, stderr };
  } catch (e) {
    // The caller cannot clean up a container it never heard of.
    (e as { container?: Docker.Container }).container = container;
    throw e;
  } finally {
    run.signal?.removeEventListener("abort", kill);
  }
}

/** A container that does not start is most often an image without /bin/sh. */
function startError(err: unknown): Error {
  const msg = engineMessage(err);
  if (/no such file|not found/i.test(msg) && msg.includes("/bin/sh"))
    return new BakeError(
      "bake_no_node",
      "the image has no /bin/sh: a bake needs /bin/sh and node >= 20 in the --from image (gantry's base image has both)",
      400,
    );
  return new BakeError("bake_runner_failed", `the bake container did not start: ${msg}`);
}

/** A container of an earlier bake with the same name (one kept with --on-error keep) goes. */
async function removeLeftover(engine: Docker, name: string): Promise<void> {
  const c = engine.getContainer(name);
  let info;
  try {
    info = await engineCall(c.inspect());
  } catch (err) {
    if (engineStatus(err) === 404) return;
    throw err;
  }
  if (info.Config.Labels?.[LABEL.bake] !== "container")
    throw new BakeError(
      "bake_container_conflict",
      `a container named ${name} exists and is not a bake's: remove or rename it`,
      409,
    );
  await c.remove({ force: true });
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on("line", (l) => {
      if (l !== "") onLine(l);
    });
    rl.once("close", resolve);
  });
}
