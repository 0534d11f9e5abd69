/**
 * `gantry builds APP`: an app's builds, newest first, with their test runs (issue 15): whether
 * the tests passed, failed or timed out, and how long they took.
 */
import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import type { Build } from "../model/app.js";
import { colours, json, table, type Output } from "../output/output.js";
import { appsClient } from "./releases.js";

/** `1.2s`, `45s`, `2m05s`: a test duration for the table. */
export function durationText(ms: number | undefined): string {
  if (ms === undefined) return "-";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** One build's row: ID, COMMIT, STATUS, TEST, TEST TIME, STARTED (pure). */
export function buildRow(b: Build): string[] {
  return [
    b.id,
    b.commit === "upload" ? "upload" : b.commit.slice(0, 7),
    b.status,
    b.test?.status ?? "-",
    durationText(b.test?.durationMs),
    b.startedAt.replace("T", " ").slice(0, 19),
  ];
}

export function registerBuildsCommand(program: Command, o: Output): void {
  program
    .command("builds <app>")
    .description("an app's builds, newest first, with their tests (passed, failed, timeout)")
    .option("--json", "print JSON (each build's test: status, command, durationMs, exitCode…)")
    .option("-n, --num <n>", "how many to show", "20")
    .addHelpText(
      "after",
      `
A build whose tests did not pass was not released (its push was refused).

Examples:
  $ gantry builds hello
  $ gantry builds hello --json`,
    )
    .action(async (app: string, opts: { json?: boolean; num: string }) => {
      const n = Number(opts.num);
      if (!Number.isInteger(n) || n < 1)
        throw new ValidationError("--num must be a whole number above 0", "--num");
      const list = await appsClient().builds(app, n);
      if (opts.json) return json(o, list);
      const c = colours(o);
      const paint = (s: string): string =>
        s === "passed" || s === "succeeded"
          ? c.green(s)
          : s === "failed" || s === "timeout"
            ? c.red(s)
            : s;
      table(
        o,
        ["ID", "COMMIT", "STATUS", "TEST", "TEST TIME", "STARTED"],
        list.map((b) => {
          const row = buildRow(b);
          return [row[0]!, row[1]!, paint(row[2]!), paint(row[3]!), row[4]!, row[5]!];
        }),
        "(no builds yet: git push to build)",
      );
      const last = list[0];
      if (last?.test?.error !== undefined && last.test.status !== "passed") {
        o.out("");
        o.out(c.red(`${last.id}: ${last.test.error}`));
      }
    });
}
