import type { Command } from "commander";
import { apiFetcher } from "../template/fetch.js";
import { runTemplates } from "../template/runner.js";
import { parseTemplateSpec, parseWaitOption } from "../template/spec.js";
import { clientFromEnv } from "./config.js";
import type { Output } from "../output/output.js";

export function registerTemplateCommands(program: Command, o: Output): void {
  program
    .command("template")
    .description(
      "render templates from keys and services, and keep them up to date (consul-template's job)",
    )
    .argument(
      "<SRC:DEST[:COMMAND]...>",
      "template file, file to write, and a command to run when it changed",
    )
    .option("--once", "render every template once, run the commands of what changed, and exit")
    .option(
      "--wait <min[:max]>",
      "re-render once the data has been quiet for MIN, at the latest MAX after the first change " +
        "(MAX defaults to 4×MIN)",
      "100ms:1s",
    )
    .addHelpText(
      "after",
      `
Templates use Jinja syntax (nunjucks) with the functions key, keyOrDefault, ls, tree, service
and services. DEST is written atomically and only when its content changes; COMMAND then runs
without a shell (quotes and backslashes are honoured; write sh -c '…' to use a shell).
A key() that does not exist is waited for; with --once it is an error.

Examples:
  $ gantry template nginx.conf.tmpl:/etc/nginx/conf.d/web.conf:"nginx -s reload"
  $ gantry template app.env.tmpl:/srv/app/.env --once
  $ gantry template a.tmpl:a.conf b.tmpl:b.conf:"systemctl reload b" --wait 2s:10s

  nginx.conf.tmpl:
    upstream web {
    {% for s in service("web") %}
      server {{ s.address }}:{{ s.port }};
    {% endfor %}
    }

Docs: docs/templates.md`,
    )
    .action(async (raw: string[], opts: { once?: boolean; wait: string }) => {
      const specs = raw.map(parseTemplateSpec);
      const wait = parseWaitOption(opts.wait);
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        await runTemplates({
          specs,
          wait,
          once: opts.once === true,
          fetch: apiFetcher(clientFromEnv()),
          signal: abort.signal,
          log: { info: (line) => o.out(line), warn: (line) => o.err(`gantry: ${line}`) },
        });
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}
