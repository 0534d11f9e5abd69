import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import { parseDuration } from "../model/duration.js";
import { capabilities, rolePolicies, ROLE_SUMMARY, ROLES } from "../model/roles.js";
import { formatPolicy, parsePolicy, type Policy } from "../model/token.js";
import type { TokenInfo } from "../client/client.js";
import { clientFromEnv } from "./config.js";
import { json, table, type Output } from "../output/output.js";

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** What `gantry tokens` shows as a token's access: its role (and apps), else its policies. */
function accessOf(t: TokenInfo): string {
  if (t.role !== undefined) return t.apps === undefined ? t.role : `${t.role}(${t.apps.join(",")})`;
  return (t.policies as Policy[]).map(formatPolicy).join(" ");
}

export function registerTokenCommands(program: Command, o: Output): void {
  const tokens = program
    .command("tokens")
    .description("manage API tokens (admin)")
    .addHelpText(
      "after",
      `
Policies: admin, or RESOURCE:PREFIX:read|write with RESOURCE one of kv, service, session, node,
app, states, stack, cert (PREFIX =NAME: that one name only); app:PREFIX:deploy pushes, sets config,
scales, rolls back and runs without deleting apps or changing domains and settings; cert::read
reads certificates with their keys (routers).
Roles: ${ROLES.map((r) => `${r} (${ROLE_SUMMARY[r]})`).join(";\n  ")}.
Examples:
  $ gantry tokens create ci --role deployer --app hello --ttl 24h
  $ gantry tokens create ci --policy kv:app/:write --policy service::read
  $ gantry tokens create edge --policy app::read --policy service::read --policy cert::read
  $ gantry tokens ls
  $ gantry tokens:rotate ci
  $ gantry tokens:can ci
  $ gantry tokens revoke ci`,
    );

  tokens
    .command("create <name>")
    .description("create a token and print its secret (shown once)")
    .option("--role <role>", `a role: ${ROLES.join(", ")}`)
    .option("--app <app>", "an app a deployer may change (repeatable)", collect, [] as string[])
    .option("--policy <policy>", "a policy (repeatable)", collect, [] as string[])
    .option("--ttl <duration>", 'expire after this long, e.g. "24h" or "30m"')
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry tokens create ci --role deployer --app hello --app api --ttl 24h
  $ gantry tokens create dash --role viewer
  $ gantry tokens create kv-writer --policy kv:app/:write`,
    )
    .action(
      async (
        name: string,
        opts: { role?: string; app: string[]; policy: string[]; ttl?: string; json?: boolean },
      ) => {
        const policies: Policy[] = opts.policy.map((p) => parsePolicy(p, "--policy"));
        if (opts.role !== undefined) rolePolicies(opts.role, opts.app, "--role", "--app");
        else if (opts.app.length > 0)
          throw new ValidationError("--app needs --role deployer", "--app");
        if (opts.ttl !== undefined && !((parseDuration(opts.ttl) ?? 0) >= 1000))
          throw new ValidationError(
            `--ttl must be a duration like "24h" or "30m", got "${opts.ttl}"`,
            "--ttl",
          );
        if (policies.length === 0 && opts.role === undefined)
          policies.push(parsePolicy("kv::read"));
        const t = await clientFromEnv().tokensCreate(name, policies, {
          ...(opts.role === undefined ? {} : { role: opts.role }),
          ...(opts.app.length === 0 ? {} : { apps: opts.app }),
          ...(opts.ttl === undefined ? {} : { ttl: opts.ttl }),
        });
        if (opts.json) return json(o, t);
        o.out(`created token ${t.name} (${t.id})${t.role === undefined ? "" : `, role ${t.role}`}`);
        if (t.expiresAt !== undefined) o.out(`expires at ${t.expiresAt}`);
        o.out(`secret: ${t.secret}`);
        o.out("store it now: it is not shown again");
      },
    );

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
        ["NAME", "ID", "ACCESS", "CREATED", "EXPIRES"],
        list.map((t) => [t.name, t.id, accessOf(t), t.createdAt, t.expiresAt ?? "never"]),
      );
    });

  tokens
    .command("revoke <nameOrId>")
    .description("revoke a token by name or id")
    .action(async (nameOrId: string) => {
      const t = await clientFromEnv().tokensRevoke(nameOrId);
      o.out(`revoked token ${t.name} (${t.id})`);
    });

  registerTokenExtraCommands(program, o);
}

/** `tokens:rotate` and `tokens:can`. */
function registerTokenExtraCommands(program: Command, o: Output): void {
  program
    .command("tokens:rotate <nameOrId>")
    .description("give a token a new secret (shown once); the old one stops working at once")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  $ gantry tokens:rotate ci\n  $ gantry tokens:rotate ci --json",
    )
    .action(async (nameOrId: string, opts: { json?: boolean }) => {
      const t = await clientFromEnv().tokensRotate(nameOrId);
      if (opts.json) return json(o, t);
      o.out(`rotated token ${t.name} (${t.id}); the old secret no longer works`);
      o.out(`secret: ${t.secret}`);
      o.out("store it now: it is not shown again");
    });

  program
    .command("tokens:can <tokenOrName>")
    .description("list what a token may do: each resource and access, and the names it covers")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
A secret (gty_…) is asked about itself; a name or id is looked up with your token (admin).
Examples:
  $ gantry tokens:can ci
  $ gantry tokens:can "$CI_TOKEN" --json`,
    )
    .action(async (tokenOrName: string, opts: { json?: boolean }) => {
      let t: TokenInfo | undefined;
      if (tokenOrName.startsWith("gty_")) {
        t = await clientFromEnv({ ...process.env, GANTRY_TOKEN: tokenOrName }).tokensSelf();
      } else {
        const list = await clientFromEnv().tokensList();
        t = list.find((x) => x.name === tokenOrName || x.id === tokenOrName);
        if (t === undefined)
          throw new ValidationError(`no token named "${tokenOrName}"`, "tokenOrName");
      }
      const caps = capabilities(t.policies as Policy[]);
      if (opts.json) return json(o, { token: t.name, role: t.role ?? null, can: caps });
      o.out(`token ${t.name}${t.role === undefined ? "" : ` (role ${t.role})`}`);
      table(
        o,
        ["RESOURCE", "ACCESS", "NAMES"],
        caps.map((c) => [c.resource, c.access, c.names.length === 0 ? "-" : c.names.join(" ")]),
      );
    });
}

interface AuditOpts {
  limit: string;
  json?: boolean;
  token?: string;
  action?: string;
  target?: string;
  since?: string;
}

export function registerAuditCommands(program: Command, o: Output): void {
  program
    .command("audit")
    .description("show the audit log: who changed what, when (admin)")
    .option("-n, --limit <n>", "how many entries (newest last)", "50")
    .option("--token <name>", "only what this token did (name or id)")
    .option(
      "--action <action>",
      "only this action, or family (token = token.create, token.revoke…)",
    )
    .option("--target <text>", "only targets containing this text")
    .option("--since <when>", "only since an ISO time or a duration ago (15m, 2h)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  $ gantry audit -n 20\n  $ gantry audit --action kv --since 1h\n  $ gantry audit --json",
    )
    .action(async (opts: AuditOpts) => {
      const { limit, json: _json, ...filter } = opts;
      const entries = await clientFromEnv().audit(Number(limit), filter);
      if (opts.json) return json(o, entries);
      table(
        o,
        ["TIME", "TOKEN", "ACTION", "TARGET"],
        entries.map((e) => [e.time, e.token, e.action, e.target]),
      );
    });
}
