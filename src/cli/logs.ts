import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import { appsClient } from "./releases.js";
import type { Output } from "../output/output.js";

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

export function registerLogCommands(program: Command, o: Output): void {
  program
    .command("logs <app>")
    .description("an app's logs: every instance, build and deploy, timestamped and tagged")
    .option("-f, --follow", "keep printing new lines (Ctrl-C to stop)")
    .option("-n, --num <lines>", "how many past lines", "100")
    .option("-p, --ps <type>", "only these instances: web, web.1, worker (comma-separated)")
    .addHelpText(
      "after",
      `
Lines are "TIME SOURCE LINE"; sources are web.1, worker.2, run.3, build and deploy.

Examples:
  $ gantry logs hello
  $ gantry logs hello -f --ps web
  $ gantry logs hello -n 1000 --ps worker.1`,
    )
    .action(async (app: string, opts: { follow?: boolean; num: string; ps?: string }) => {
      const tail = Number(opts.num);
      if (!/^\d{1,6}$/.test(opts.num))
        throw new ValidationError("--num must be a whole number", "--num");
      const apps = appsClient();
      // Lines keep their colours (SGR sequences); off a terminal they are printed without.
      const show = (line: string): void => o.out(o.tty ? line : line.replace(SGR, ""));
      const filter = { tail, ...(opts.ps === undefined ? {} : { ps: opts.ps }) };
      if (!opts.follow) {
        for (const line of await apps.logs(app, filter)) show(line);
        return;
      }
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once("SIGINT", stop);
      try {
        await apps.followLogs(app, show, { ...filter, signal: abort.signal });
      } finally {
        process.off("SIGINT", stop);
      }
    });
}
