import type { Command } from "commander";
import { connectStack, disconnectStack } from "../client/stack-source.js";
import { ValidationError } from "../errors.js";
import { clientFromEnv } from "./config.js";
import { json, type Output } from "../output/output.js";

interface ConnectFlags {
  branch: string;
  path: string;
  interval: string;
  secret?: string;
  json?: boolean;
}

/** `gantry stack:connect URL` and `gantry stack:disconnect` (docs/stack.md, "GitOps"). */
export function registerStackConnectCommands(program: Command, o: Output): void {
  program
    .command("stack:connect <url>")
    .description("follow an outside git repo: the server polls it and syncs on its webhook")
    .option("--branch <branch>", "the branch to follow", "main")
    .option("--path <folder>", "the folder of the repo that holds gantry.yaml", "")
    .option("--interval <duration>", "how often to look for a new commit (at least 5s)", "60s")
    .option("--secret <secret>", "the webhook secret (- reads it from stdin); never printed")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
The server looks at the branch every interval (git ls-remote), fetches a new commit and plans
and applies it, one sync at a time, with your token. Point the repo host's push webhook at the
URL this prints: GitHub signs with X-Hub-Signature-256, Gitea with X-Gitea-Signature (HMAC-SHA256
of the body with the secret); a bad or missing signature is refused (401). While the stack
follows a repo, pushes to the stack repo Gantry hosts are refused; stack:disconnect undoes it.

Examples:
  $ gantry stack:connect https://github.com/acme/platform.git --secret "$HOOK_SECRET"
  $ gantry stack:connect git@github.com:acme/ops.git --branch prod --path stack --interval 5m
  $ printf %s "$HOOK_SECRET" | gantry stack:connect https://git.acme.dev/ops.git --secret -`,
    )
    .action(async (url: string, flags: ConnectFlags) => {
      const secret = flags.secret === "-" ? await readSecret() : flags.secret;
      const answer = await connectStack(clientFromEnv(), {
        url,
        branch: flags.branch,
        path: flags.path,
        interval: flags.interval,
        ...(secret === undefined ? {} : { secret }),
      });
      if (flags.json) return json(o, answer);
      o.out(`following ${answer.url} ${answer.branch}${answer.path ? ` (${answer.path}/)` : ""}`);
      o.out(`  now at     ${answer.head.slice(0, 12)} (syncing it in the background)`);
      o.out(`  polled     every ${answer.interval}`);
      o.out(
        answer.webhookSecret
          ? `  webhook    POST ${answer.webhook} (content type application/json, your secret)`
          : `  webhook    none: give --secret to sync on push instead of waiting for the poll`,
      );
      o.out("  progress   gantry stack:info");
    });

  program
    .command("stack:disconnect")
    .description("stop following an outside repo: take pushes to the stack repo again")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Nothing on the platform changes: it stays as the last sync left it.

Examples:
  $ gantry stack:disconnect`,
    )
    .action(async (flags: { json?: boolean }) => {
      const res = await disconnectStack(clientFromEnv());
      if (flags.json) return json(o, res);
      o.out(
        res.followed === null
          ? "the stack followed no outside repo: nothing to do"
          : `stopped following ${res.followed}; pushes to the stack repo apply again`,
      );
    });
}

async function readSecret(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  const secret = Buffer.concat(chunks).toString("utf8").trim();
  if (secret === "") throw new ValidationError("--secret - read nothing from stdin", "--secret");
  return secret;
}
