import type { Command } from "commander";
import { appConnection, connectApp, disconnectApp } from "../client/connect.js";
import { AppNameSchema } from "../model/app.js";
import type { AppConnectionView } from "../model/connect.js";
import { parseWith } from "../validate.js";
import { json, type Output } from "../output/output.js";
import { clientFromEnv } from "./config.js";

/** `gantry apps:connect`, `apps:connection`, `apps:disconnect` (docs/delivery/connect.md). */
export function registerAppConnectCommands(program: Command, o: Output): void {
  program
    .command("apps:connect <app>")
    .description("build an app from an outside git repo (GitHub, Gitea…) on push and on a poll")
    .requiredOption("--repo <url>", "the repository: https://, ssh:// or git://")
    .option("--branch <branch>", "the branch whose pushes are built and released", "main")
    .option(
      "--poll <duration>",
      'how often to look for a new commit as a fallback ("0": never)',
      "1m",
    )
    .option("--json", "print JSON (it holds the secret)")
    .addHelpText(
      "after",
      `
The branch as it is now is built at once; after that, each push the repo's host reports to the
webhook URL is fetched, built and released (and the poll catches any it did not report).
The webhook secret is printed ONCE: paste it into the host's webhook settings. Connecting again
makes a new secret (the old one stops working).

GitHub: Settings → Webhooks → Add webhook: Payload URL = the webhook URL, Content type =
application/json, Secret = the secret, events: "Just the push event" (or also Pull requests).
Gitea: Settings → Webhooks → Add Webhook → Gitea: Target URL = the webhook URL, HTTP method
POST, POST content type application/json, Secret = the secret, trigger on push events.

Examples:
  $ gantry apps:connect hello --repo https://github.com/acme/hello.git
  $ gantry apps:connect api --repo https://git.acme.dev/team/api.git --branch release --poll 5m
  $ gantry apps:connect docs --repo https://github.com/acme/docs.git --poll 0`,
    )
    .action(
      async (
        app: string,
        flags: { repo: string; branch: string; poll: string; json?: boolean },
      ) => {
        const name = parseWith(AppNameSchema, app, "app");
        const answer = await connectApp(clientFromEnv(), name, {
          repo: flags.repo,
          branch: flags.branch,
          poll: flags.poll,
        });
        if (flags.json) return json(o, answer);
        o.out(`${name} is connected to ${answer.repo} ${answer.branch}`);
        o.out(`  now at        ${answer.head.slice(0, 12)} (building it in the background)`);
        o.out(
          `  polled        ${answer.poll === "off" ? "never (webhook only)" : `every ${answer.poll}`}`,
        );
        o.out(`  webhook URL   ${answer.webhookUrl}`);
        o.out(`  secret        ${answer.secret}`);
        o.out("");
        o.out("The secret is shown this once. Add a webhook on the repo's host:");
        o.out(`  GitHub  Settings → Webhooks → Add webhook: Payload URL ${answer.webhookUrl},`);
        o.out("          Content type application/json, Secret (above), the push event.");
        o.out(
          `  Gitea   Settings → Webhooks → Add Webhook → Gitea: Target URL ${answer.webhookUrl},`,
        );
        o.out("          POST, application/json, Secret (above), push events.");
        o.out(`Progress: gantry apps:connection ${name}, gantry logs ${name} --ps build`);
      },
    );

  program
    .command("apps:connection <app>")
    .description("an app's outside repo: branch, poll, last commit built, last check, last error")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry apps:connection hello
  $ gantry apps:connection hello --json | jq .lastCommit`,
    )
    .action(async (app: string, flags: { json?: boolean }) => {
      const name = parseWith(AppNameSchema, app, "app");
      const view = await appConnection(clientFromEnv(), name);
      if (flags.json) return json(o, view);
      showConnection(o, view);
    });

  program
    .command("apps:disconnect <app>")
    .description("stop building an app from its outside repo (its releases stay)")
    .addHelpText(
      "after",
      `
The webhook is refused from now on (remove it on the repo's host too) and nothing polls.

Examples:
  $ gantry apps:disconnect hello`,
    )
    .action(async (app: string) => {
      const name = parseWith(AppNameSchema, app, "app");
      const res = await disconnectApp(clientFromEnv(), name);
      o.out(`${name} no longer builds from ${res.disconnected}; its releases stay`);
    });
}

function showConnection(o: Output, v: AppConnectionView): void {
  const rows: [string, string][] = [
    ["repo", v.repo],
    ["branch", v.branch],
    ["poll", v.poll === "off" ? "off (webhook only)" : `every ${v.poll}`],
    ["webhook", v.webhookUrl],
    [
      "last commit",
      v.lastCommit === null
        ? "-"
        : `${v.lastCommit.slice(0, 12)} ${v.lastResult ?? ""}${v.lastBuild ? ` (build ${v.lastBuild})` : ""}`,
    ],
    ["building", v.building === null ? "-" : v.building.slice(0, 12)],
    ["last check", v.lastCheckedAt ?? "-"],
    ["last error", v.lastError ?? "-"],
    ["connected", `${v.createdAt} by ${v.createdBy}`],
  ];
  for (const [k, val] of rows) o.out(`${k.padEnd(12)} ${val}`);
}
