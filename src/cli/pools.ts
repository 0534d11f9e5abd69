import type { Command } from "commander";
import pc from "picocolors";
import { PoolsClient } from "../client/pools.js";
import { ValidationError, notFound } from "../errors.js";
import { NodeNameSchema } from "../model/node.js";
import { desiredSize, PoolNameSchema, type PoolView } from "../model/pool.js";
import { colours, json, table, type Output } from "../output/output.js";
import { parseWith } from "../validate.js";
import { clientFromEnv } from "./config.js";

const pools = (): PoolsClient => new PoolsClient(clientFromEnv());
// The Output decides about colour (a terminal, no NO_COLOR), not picocolors' own guess.
const { yellow } = pc.createColors(true);

/** `gantry pools`, `pools:info`, `pools:scale`, `pools:replace` (docs/pools.md, "API and CLI"). */
export function registerPoolCommands(program: Command, o: Output): void {
  program
    .command("pools")
    .description("node pools: desired and ready nodes, those joining, repairing or unhealthy")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
Pools are declared in gantry.yaml (pools:, addressPlan:) and kept at their size by the server:
a node that dies is made again with its address. LAST EVENT is the pool controller's last
action or error; a halted pool (too many unhealthy nodes at once) says why there.
Examples:
  $ gantry pools
  $ gantry pools --json | jq '.[] | select(.status.halted) | .name'`,
    )
    .action(async (opts: { json?: boolean }) => {
      const list = await pools().list();
      if (opts.json === true) return json(o, list);
      showPools(o, list);
    });

  program
    .command("pools:info <pool>")
    .description("one pool: its settings and its nodes (instance, address, phase, why)")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry pools:info web
  $ gantry pools:info web --json | jq '.status.nodes[] | select(.phase != "ready")'`,
    )
    .action(async (pool: string, opts: { json?: boolean }) => {
      const name = parseWith(PoolNameSchema, pool, "pool");
      const view = await pools().get(name);
      if (view === undefined) throw notFound(`pool "${name}"`);
      if (opts.json === true) return json(o, view);
      showPool(o, view);
    });

  program
    .command("pools:scale <pool> <size>")
    .description("change a pool's size by hand, within its min and max in gantry.yaml")
    .addHelpText(
      "after",
      `
The size holds until gantry.yaml changes the pool's size. New nodes take the lowest free
instance numbers (and so addresses); scaling down drains the highest ones, then destroys them.
Examples:
  $ gantry pools:scale web 5`,
    )
    .action(async (pool: string, size: string) => {
      const name = parseWith(PoolNameSchema, pool, "pool");
      if (!/^\d{1,3}$/.test(size))
        throw new ValidationError(`size must be a whole number, not "${size}"`, "size");
      const view = await pools().scale(name, Number(size));
      o.out(`${name}: scaling to ${desiredSize(view)} nodes (see gantry pools)`);
    });

  program
    .command("pools:replace <pool> [node]")
    .description("replace one node of a pool, or all of them, one at a time")
    .addHelpText(
      "after",
      `
Each node is replaced by a new machine under the same name and address: the new one is made,
joins and converges, and the old one is drained and destroyed. Examples:
  $ gantry pools:replace web web-2
  $ gantry pools:replace web          # every node, one at a time`,
    )
    .action(async (pool: string, node: string | undefined) => {
      const name = parseWith(PoolNameSchema, pool, "pool");
      if (node !== undefined) parseWith(NodeNameSchema, node, "node");
      const view = await pools().replace(name, node);
      const nodes = view.replace?.nodes ?? [];
      o.out(
        `${name}: replacing ${nodes.join(", ")}, one at a time (see gantry pools:info ${name})`,
      );
    });
}

/** What the pool is doing, in a few words: deletion and halts first, they are what matters. */
function lastEvent(o: Output, p: PoolView): string {
  const warn = (s: string): string => (o.tty ? yellow(s) : s);
  if (p.deletedAt !== undefined) return warn("deleting: draining and destroying its nodes");
  if (p.status?.halted !== undefined) return warn(`halted: ${p.status.halted}`);
  const e = p.status?.lastEvent;
  if (e === undefined) return p.status === undefined ? "(no status yet)" : "-";
  return e.error === true ? colours(o).red(e.message) : e.message;
}

/** The `gantry pools` table. */
export function showPools(o: Output, list: readonly PoolView[]): void {
  const count = (p: PoolView, k: "ready" | "joining" | "repairing" | "unhealthy"): string =>
    p.status === undefined ? "-" : String(p.status[k]);
  table(
    o,
    ["POOL", "PROVIDER", "DESIRED", "READY", "JOINING", "REPAIRING", "UNHEALTHY", "LAST EVENT"],
    list.map((p) => [
      p.name,
      p.spec.provider,
      String(desiredSize(p)) + (p.scaledTo === undefined ? "" : " (scaled)"),
      count(p, "ready"),
      count(p, "joining"),
      count(p, "repairing"),
      count(p, "unhealthy"),
      lastEvent(o, p),
    ]),
    "(no pools: declare them in gantry.yaml under pools:)",
  );
}

/** `gantry pools:info POOL`: the settings, then a table of its nodes. */
export function showPool(o: Output, p: PoolView): void {
  const { spec } = p;
  const bounds = `${spec.min ?? spec.size}-${spec.max ?? spec.size}`;
  const size =
    p.scaledTo === undefined ? `${spec.size}` : `${p.scaledTo} (scaled; gantry.yaml: ${spec.size})`;
  const lines: [string, string][] = [
    ["pool", p.name],
    ["provider", spec.provider],
    ["size", `${size}, may scale ${bounds}`],
    ["addresses", p.addressPattern],
    ["roles", spec.roles.join(", ") || "-"],
    ["repair", `after ${spec.repairAfter} down; halt above ${spec.maxUnhealthy} unhealthy`],
    ["last event", lastEvent(o, p)],
  ];
  if (p.replace !== undefined)
    lines.push(["replacing", `${p.replace.nodes.join(", ")} (asked ${p.replace.requestedAt})`]);
  for (const [k, v] of lines) o.out(`${`${k}:`.padEnd(12)}${v}`);
  o.out("");
  table(
    o,
    ["NAME", "INSTANCE", "ADDRESS", "PHASE", "REASON"],
    (p.status?.nodes ?? []).map((n) => [
      n.name,
      String(n.instance),
      n.address,
      n.phase === "ready" ? colours(o).green(n.phase) : n.phase,
      n.reason ?? "",
    ]),
    "(no nodes yet)",
  );
}
