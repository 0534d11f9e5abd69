import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import { parseDuration } from "../model/duration.js";
import { parseLabels, type JoinTokenRecord } from "../model/join-token.js";
import { json, table, type Output } from "../output/output.js";
import { clientFromEnv } from "./config.js";

type Shown = Omit<JoinTokenRecord, "secretHash">;
const collect = (v: string, all: string[]): string[] => [...all, v];

function state(t: Shown, now = Date.now()): string {
  if (t.revokedAt !== undefined) return "revoked";
  if (t.expiresAt !== undefined && Date.parse(t.expiresAt) <= now) return "expired";
  if (t.uses !== undefined && t.used >= t.uses) return "used up";
  return "valid";
}

/** `gantry join-tokens` (list), `join-tokens create`, `join-tokens:revoke ID`. */
export function registerJoinTokenCommands(program: Command, o: Output): void {
  const cmd = program
    .command("join-tokens")
    .description(
      "list join tokens: what agents, routers and servers join this cluster with (admin)",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
A join token (K10<ca-hash>::<id>.<secret>) pins the cluster CA: an agent checks the server
against it before sending anything, then exchanges it for its own node token.
Examples:
  $ gantry join-tokens create --ttl 24h --uses 3 --labels zone=a
  $ gantry agent --server https://10.0.0.1:7700 --join K10…
  $ gantry join-tokens create --router --uses 1
  $ gantry router --server https://10.0.0.1:7700 --join K10…
  $ gantry join-tokens create --server --uses 1 --ttl 1h
  $ gantry server --join https://10.0.0.1:7700 --join-token K10…
  $ gantry join-tokens
  $ gantry join-tokens:revoke ab12cd`,
    )
    .action(async (opts: { json?: boolean }) => {
      const list = await clientFromEnv().json<Shown[]>("GET", "/v1/join-tokens");
      if (opts.json) return json(o, list);
      table(
        o,
        ["ID", "FOR", "STATE", "USES", "EXPIRES", "LABELS", "CREATED"],
        list.map((t) => [
          t.id,
          t.kind === "router" ? "routers" : t.kind === "server" ? "servers" : "agents",
          state(t),
          `${t.used}/${t.uses ?? "∞"}`,
          t.expiresAt ?? "never",
          Object.entries(t.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(",") || "-",
          t.createdAt,
        ]),
      );
    });

  cmd
    .command("create")
    .description("create a join token and print it (shown once)")
    .option("--ttl <duration>", 'expire after this long (default 24h; e.g. "1h", "7d")', "24h")
    .option("--uses <n>", "how many agents may join with it (default: any number until it expires)")
    .option(
      "--labels <k=v>",
      "labels for the nodes that join (repeatable)",
      collect,
      [] as string[],
    )
    .option(
      "--router",
      "for routers (gantry router --join): they get a router token (app, service and certificate read)",
    )
    .option(
      "--server",
      "for servers (gantry server --join URL --join-token T): they join the control plane's etcd cluster",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  $ gantry join-tokens create\n  $ gantry join-tokens create --ttl 1h --uses 1 --labels zone=a --json\n  $ gantry join-tokens create --router --uses 2\n  $ gantry join-tokens create --server --uses 1 --ttl 1h",
    )
    .action(
      async (opts: {
        ttl: string;
        uses?: string;
        labels: string[];
        router?: boolean;
        server?: boolean;
        json?: boolean;
      }) => {
        if (!((parseDuration(opts.ttl) ?? 0) >= 1000))
          throw new ValidationError(
            `--ttl must be a duration like "24h" or "30m", got "${opts.ttl}"`,
            "--ttl",
          );
        const uses = opts.uses === undefined ? undefined : Number(opts.uses);
        if (uses !== undefined && !(Number.isInteger(uses) && uses >= 1 && uses <= 100_000))
          throw new ValidationError(
            `--uses must be a whole number from 1, got "${opts.uses}"`,
            "--uses",
          );
        const labels = parseLabels(opts.labels.flatMap((l) => l.split(",")));
        if ("error" in labels) throw new ValidationError(String(labels.error), "--labels");
        const router = opts.router === true;
        const server = opts.server === true;
        if (router && server)
          throw new ValidationError(
            "--router and --server: a join token is for one kind of joiner; make two",
            "--server",
          );
        if ((router || server) && Object.keys(labels).length > 0)
          throw new ValidationError(
            `--labels are for nodes; a ${router ? "router" : "server"} join token takes none`,
            "--labels",
          );
        const t = await clientFromEnv().json<Shown & { token: string }>("POST", "/v1/join-tokens", {
          body: {
            ttl: opts.ttl,
            labels,
            ...(uses === undefined ? {} : { uses }),
            ...(router ? { router: true } : {}),
            ...(server ? { server: true } : {}),
          },
        });
        // `join-tokens create --json`: commander gives --json to `join-tokens`, which has one too.
        if (opts.json === true || cmd.opts<{ json?: boolean }>().json === true) return json(o, t);
        const kind = router ? "router " : server ? "server " : "";
        o.out(
          `created ${kind}join token ${t.id} (expires ${t.expiresAt ?? "never"}, uses ${t.uses ?? "any"})`,
        );
        o.out(t.token);
        o.out(
          `store it now: it is not shown again. Join with: ${
            server
              ? "gantry server --join https://… --join-token TOKEN"
              : `gantry ${router ? "router" : "agent"} --server https://… --join TOKEN`
          }`,
        );
      },
    );

  program
    .command("join-tokens:revoke <id>")
    .description(
      "revoke a join token: agents can no longer join with it (joined ones keep their node tokens)",
    )
    .addHelpText("after", "\nExamples:\n  $ gantry join-tokens:revoke ab12cd")
    .action(async (id: string) => {
      await clientFromEnv().json("DELETE", `/v1/join-tokens/${encodeURIComponent(id)}`);
      o.out(`revoked join token ${id}`);
    });
}
