import type { Command } from "commander";
import { ConvergeClient } from "../client/converge.js";
import { formatTrigger, type RunRecord } from "../model/converge.js";
import { NodeNameSchema } from "../model/node.js";
import { parseWith } from "../validate.js";
import { clientFromEnv } from "./config.js";
import { colours, json, table, type Output } from "../output/output.js";

const failed = (r: RunRecord): boolean => r.error !== undefined || (r.summary?.failed ?? 0) > 0;

/**
 * `gantry converge status [NODE]`: the last agent run of every node (or a node's last runs):
 * when, what triggered it, ok/changed/failed, and what failed. Exits 2 when a shown last run
 * failed, like `gantry converge`.
 */
export function registerConvergeStatus(converge: Command, o: Output): void {
  converge
    .command("status [node]")
    .description("the last converge run of each node's agent (or a node's last runs)")
    .option("--json", "print the runs as JSON (newest first)")
    .addHelpText(
      "after",
      `
Exit status 2 when a shown last run failed.
Examples:
  $ gantry converge status               # every node's last run
  $ gantry converge status web-1         # web-1's last 10 runs, and what failed
  $ gantry converge status web-1 --json  # with every resource`,
    )
    .action(async (node: string | undefined, _opts: unknown, cmd: Command) => {
      // `converge` has its own --json, which commander gives to the parent: take either.
      const opts = cmd.optsWithGlobals<{ json?: boolean }>();
      const client = new ConvergeClient(clientFromEnv());
      const runs =
        node === undefined
          ? await client.lastRuns()
          : await client.runs(parseWith(NodeNameSchema, node, "node"));
      const latest = node === undefined ? runs : runs.slice(0, 1);
      if (latest.some(failed)) process.exitCode = 2;
      if (opts.json) return json(o, runs);
      const c = colours(o);
      table(
        o,
        ["NODE", "STARTED", "TOOK", "TRIGGER", "OK", "CHANGED", "FAILED", "SKIPPED", "STATES"],
        runs.map((r) => [
          r.node,
          r.startedAt,
          `${(r.durationMs / 1000).toFixed(1)}s`,
          r.triggers.map(formatTrigger).join(", "),
          String(r.summary?.ok ?? "-"),
          String(r.summary?.changed ?? "-"),
          r.error !== undefined ? c.red("error") : String(r.summary?.failed ?? "-"),
          String(r.summary?.skipped ?? "-"),
          r.statesHash.slice(0, 8),
        ]),
        "no converge runs yet (push states and set roles: gantry states push DIR; gantry nodes:roles NODE ROLE)",
      );
      for (const r of latest) {
        // An invalid state lists every problem, one per line: each gets its node.
        for (const line of r.error?.message.split("\n") ?? [])
          o.out(`${c.red("✗")} ${r.node}: ${line}`);
        for (const res of r.resources.filter((x) => x.status === "failed"))
          o.out(`${c.red("✗")} ${r.node} ${res.id}: ${res.message ?? "failed"}`);
      }
    });
}
