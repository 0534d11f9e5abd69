/**
 * The runner's entry on a remote host (bundled into dist/converge-runner.mjs and run with plain
 * `node`): a Job as JSON on stdin, ConvergeEvents as JSON lines on stdout. Exit 0 when nothing
 * failed, 2 when a resource failed, 1 when the job could not run (the `error` event says why).
 */
import { runJob } from "./run.js";
import type { ConvergeEvent, Job } from "./types.js";

function emit(e: ConvergeEvent): void {
  process.stdout.write(JSON.stringify(e) + "\n");
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<number> {
  let job: Job;
  try {
    job = JSON.parse(await readStdin()) as Job;
  } catch (err) {
    emit({
      kind: "error",
      host: "",
      message: `bad job on stdin: ${(err as Error).message}`,
      code: "bad_job",
    });
    return 1;
  }
  let errorSent = false;
  try {
    const report = await runJob(job, {
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
  }
}

process.exitCode = await main();
