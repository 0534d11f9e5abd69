import type { Command } from "commander";
import { CatalogClient } from "../client/catalog.js";
import { NodeNameSchema, type NodeListEntry } from "../model/node.js";
import { parseWith } from "../validate.js";
import { clientFromEnv } from "./config.js";
import { colours, json, table, type Output } from "../output/output.js";

/** `gantry nodes`: the machines of the platform, live and down (Nomad's `node status`). */
export function registerNodesCommands(program: Command, o: Output): void {
  program
    .command("nodes")
    .description(
      "the platform's nodes: ready or down, their facts and how many instances each runs",
    )
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
A node is down when its agent stopped heartbeating (its 10 s lease ran out); ten seconds later
its instances start again on the ready nodes, and it leaves this list once it holds none.
POOL and ADDRESS (shown when there are pool nodes) are a pool node's (see gantry pools);
--json has them as pool and address.
Examples:
  $ gantry nodes
  $ gantry nodes --json | jq '.[] | select(.status == "down") | .name'`,
    )
    .action(async (opts: { json?: boolean }) => {
      const list = await new CatalogClient(clientFromEnv()).nodeList();
      if (opts.json === true) return json(o, list.map(withPoolFields));
      showNodes(o, list);
    });

  program
    .command("nodes:drain <node>")
    .description(
      "move a node's instances to other nodes, without downtime, and send it no new ones",
    )
    .option("--undo", "stop draining: the node takes new instances again")
    .addHelpText(
      "after",
      `
Each instance starts on another node first and stops on this one once its replacement passes
its health check; an instance no other node can take stays. For maintenance: drain, wait until
\`gantry nodes\` shows 0 instances on it, work on the machine, then --undo.
Examples:
  $ gantry nodes:drain web-2
  $ gantry nodes:drain web-2 --undo`,
    )
    .action(async (node: string, opts: { undo?: boolean }) => {
      const name = parseWith(NodeNameSchema, node, "node");
      const undo = opts.undo === true;
      const res = await new CatalogClient(clientFromEnv()).drainNode(name, undo);
      if (undo)
        o.out(res.already ? `${name} was not draining` : `${name} takes new instances again`);
      else
        o.out(
          `${res.already ? `${name} was already draining` : `draining ${name}`}: its instances start on other nodes, then stop there (see gantry nodes)`,
        );
    });
}

/** A pool node's pool and address: from the labels its join token gave it. */
export function withPoolFields(
  n: NodeListEntry,
): NodeListEntry & { pool?: string; address?: string } {
  const pool = n.labels?.["pool"];
  const address = n.labels?.["address"];
  return {
    ...n,
    ...(pool === undefined ? {} : { pool }),
    ...(address === undefined ? {} : { address }),
  };
}

export function showNodes(o: Output, list: NodeListEntry[], now = Date.now()): void {
  const c = colours(o);
  // POOL and ADDRESS only where there are pool nodes (the labels they come from leave LABELS).
  const pools = list.some((n) => n.labels?.["pool"] !== undefined);
  const head = (n: NodeListEntry): string[] =>
    pools ? [n.name, n.labels?.["pool"] ?? "-", n.labels?.["address"] ?? "-"] : [n.name];
  const labels = (n: NodeListEntry): string =>
    Object.entries(n.labels ?? {})
      .filter(([k]) => !pools || (k !== "pool" && k !== "address"))
      .map(([k, v]) => `${k}=${v}`)
      .join(",") || "-";
  table(
    o,
    [
      "NODE",
      ...(pools ? ["POOL", "ADDRESS"] : []),
      "STATUS",
      "INSTANCES",
      "CPUS",
      "MEMORY",
      "ADDRESSES",
      "LABELS",
      "UP",
    ],
    list.map((n) =>
      n.status === "down"
        ? [
            ...head(n),
            c.red(n.draining === true ? "down (draining)" : "down"),
            String(n.instances),
            "-",
            "-",
            "-",
            "-",
            "-",
          ]
        : [
            ...head(n),
            n.status === "ready" ? c.green("ready") : c.bold("draining"),
            String(n.instances),
            String(n.facts.cpus),
            gib(n.facts.memory),
            n.facts.addresses.join(", ") || "-",
            labels(n),
            since(n.joinedAt, now),
          ],
    ),
    "(no nodes: start `gantry up`, or `gantry agent` on a machine)",
  );
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** "3m", "2h5m", "4d" since an ISO time. */
function since(iso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d`;
}
