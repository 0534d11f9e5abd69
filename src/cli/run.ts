import type { Command } from "commander";
import type { AppsClient } from "../client/apps.js";
import { GantryError } from "../errors.js";
import type { PsEntry } from "../model/app-views.js";
import { appsClient } from "./releases.js";
import type { Output } from "../output/output.js";

const ENDED = new Set(["exited", "crashed", "stopped"]);
/** A one-off that has not started within this is given up on (no agent, no artifact…). */
const START_TIMEOUT_MS = 120_000;
/** After the process ended: wait for its last lines until output has been quiet this long. */
const QUIET_MS = 500;
const TRAILING_MAX_MS = 3000;

/** The line of a log entry without its time and source. */
const message = (line: string): string => line.split(" ").slice(2).join(" ");

/**
 * Run a one-off and print its output; resolves to its exit code. The output is followed from
 * the app's logs (source `run.N`, lines since it was created), the end from its instance status.
 */
export async function runOneoff(
  apps: AppsClient,
  app: string,
  command: string[],
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const run = await apps.run(app, command);
  const logs = new AbortController();
  let lastLine = Date.now();
  const following = apps.followLogs(
    app,
    (line) => {
      lastLine = Date.now();
      onLine(message(line));
    },
    {
      ps: run.source,
      since: run.createdAt,
      tail: 100_000,
      signal: AbortSignal.any([logs.signal, signal]),
    },
  );
  try {
    const started = Date.now();
    let index: number | undefined;
    let status: PsEntry | undefined;
    while (!signal.aborted) {
      const got = await apps.instance(app, run.id, {
        ...(index === undefined ? {} : { index, wait: "10s" }),
        signal,
      });
      index = got.index;
      status = got.value;
      if (ENDED.has(status.state)) break;
      if (status.nodeDown === true)
        throw new GantryError(
          "run_node_down",
          `${run.source} was running on node ${status.node}, which went down (its agent stopped heartbeating): how it ended is unknown`,
        );
      if (status.state === "pending" && Date.now() - started > START_TIMEOUT_MS)
        throw new GantryError(
          "run_not_started",
          `${run.source} did not start on ${run.node} within ${START_TIMEOUT_MS / 1000} s`,
        );
    }
    if (signal.aborted || status === undefined) return 130;
    const until = Date.now() + TRAILING_MAX_MS;
    lastLine = Math.max(lastLine, Date.now());
    while (Date.now() < until && Date.now() - lastLine < QUIET_MS)
      await new Promise((r) => setTimeout(r, 50));
    return status.exitCode ?? (status.state === "exited" ? 0 : 1);
  } finally {
    logs.abort();
    await following.catch(() => undefined);
  }
}

export function registerRunCommands(program: Command, o: Output): void {
  program
    .command("run <app> <command...>")
    .description("run a one-off command with the app's current release and config")
    .allowUnknownOption()
    .addHelpText(
      "after",
      `
Output streams back; the command's exit code becomes gantry's. Put -- before a command
that has options of its own.

Examples:
  $ gantry run hello -- node -e 'console.log(process.env.GREETING)'
  $ gantry run hello -- npm run migrate`,
    )
    .action(async (app: string, command: string[]) => {
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once("SIGINT", stop);
      try {
        const code = await runOneoff(appsClient(), app, command, (l) => o.out(l), abort.signal);
        process.exitCode = code;
      } finally {
        process.off("SIGINT", stop);
      }
    });
}
