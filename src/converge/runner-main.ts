/**
 * The runner's entry on a remote host (bundled into dist/converge-runner.mjs and run with plain
 * `node`): a Job as JSON on stdin, ConvergeEvents as JSON lines on stdout. Exit 0 when nothing
 * failed, 2 when a resource failed, 1 when the job could not run (the `error` event says why).
 *
 * With `--lifeline` the Job is the first line of stdin and stdin stays open while the run goes
 * on: its end means the controller is gone (ssh's connection dropped, `gantry converge` was
 * interrupted, or it gave up at --timeout). The run then stops as an interrupted local run
 * does: running commands are killed, what is left is skipped, the report still goes out.
 */
import { runJob } from "./run.js";
import type { ConvergeEvent, Job } from "./types.js";

function emit(e: ConvergeEvent): void {
  process.stdout.write(JSON.stringify(e) + "\n");
}

/** All of stdin, or with a lifeline its first line. */
function readJob(lifeline: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer): void => {
      const nl = lifeline ? c.indexOf(0x0a) : -1;
      if (nl < 0) {
        chunks.push(c);
        return;
      }
      chunks.push(c.subarray(0, nl));
      process.stdin.off("data", onData).off("end", onEnd);
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks).toString("utf8"));
    process.stdin.on("data", onData).once("end", onEnd).once("error", reject);
  });
}

async function main(): Promise<number> {
  const lifeline = process.argv.includes("--lifeline");
  let job: Job;
  try {
    job = JSON.parse(await readJob(lifeline)) as Job;
  } catch (err) {
    emit({
      kind: "error",
      host: "",
      message: `bad job on stdin: ${(err as Error).message}`,
      code: "bad_job",
    });
    return 1;
  }
  const abort = new AbortController();
  if (lifeline) {
    const cut = (): void => abort.abort();
    process.stdin.once("end", cut).once("close", cut).once("error", cut).resume();
  }
  let errorSent = false;
  try {
    const report = await runJob(job, {
      signal: abort.signal,
      onEvent(e) {
        if (e.kind === "error") errorSent = true;
        emit(e);
      },
    });
    return report.summary.failed > 0 ? 2 : 0;
  } catch (err) {
    if (!errorSent) {
      const code = (err as { code?: unknown }).code;
      emit({
        kind: "error",
        host: job.host,
        message: (err as Error).message,
        code: typeof code === "string" ? code : "runner_failed",
      });
    }
    return 1;
  } finally {
    // Nothing more to wait for: an open stdin would keep the process alive.
    process.stdin.destroy();
  }
}

process.exitCode = await main();
