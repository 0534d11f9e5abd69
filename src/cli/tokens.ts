import type { Command } from "commander";
import { formatPolicy, parsePolicy, type Policy } from "../model/token.js";
import { clientFromEnv } from "./config.js";
import { json, table, type Output } from "../output/output.js";

export function registerTokenCommands(program: Command, o: Output): void {
  const tokens = program
    .command("tokens")
    .description("manage API tokens (admin)")
    .addHelpText(
      "after",
      `
Policies: admin, or RESOURCE:PREFIX:read|write with RESOURCE one of kv, service, session, node,
app, states, stack.
Examples:
  $ gantry tokens create ci --policy kv:app/:write --policy service::read
  $ gantry tokens ls
  $ gantry tokens revoke ci`,
    );

  tokens
    .command("create <name>")
    .description("create a token and print its secret (shown once)")
    .option(
      "--policy <policy>",
      "a policy (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--json", "print JSON")
    .action(async (name: string, opts: { policy: string[]; json?: boolean }) => {
      const policies: Policy[] = opts.policy.map((p) => parsePolicy(p, "--policy"));
      if (policies.length === 0) policies.push(parsePolicy("kv::read"));
      const t = await clientFromEnv().tokensCreate(name, policies);
      if (opts.json) return json(o, t);
      o.out(`created token ${t.name} (${t.id})`);
      o.out(`secret: ${t.secret}`);
      o.out("store it now: it is not shown again");
    });

  tokens
    .command("ls")
    .alias("list")
    .description("list tokens")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const list = await clientFromEnv().tokensList();
      if (opts.json) return json(o, list);
      table(
        o,
        ["NAME", "ID", "POLICIES", "CREATED"],
        list.map((t) => [
          t.name,
          t.id,
          (t.policies as Policy[]).map(formatPolicy).join(" "),
          t.createdAt,
        ]),
      );
    });

  tokens
    .command("revoke <nameOrId>")
    .description("revoke a token by name or id")
    .action(async (nameOrId: string) => {
      const t = await clientFromEnv().tokensRevoke(nameOrId);
      o.out(`revoked token ${t.name} (${t.id})`);
    });
}

export function registerAuditCommands(program: Command, o: Output): void {
  program
    .command("audit")
    .description("show the audit log: who changed what, when (admin)")
    .option("-n, --limit <n>", "how many entries (newest last)", "50")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  $ gantry audit -n 20\n  $ gantry audit --json")
    .action(async (opts: { limit: string; json?: boolean }) => {
      const entries = await clientFromEnv().audit(Number(opts.limit));
      if (opts.json) return json(o, entries);
      table(
        o,
        ["TIME", "TOKEN", "ACTION", "TARGET"],
        entries.map((e) => [e.time, e.token, e.action, e.target]),
      );
    });
}
