import type { Command } from "commander";
import { AppsClient } from "../client/apps.js";
import { GantryError, ValidationError } from "../errors.js";
import type { ReleaseAnswer, ReleaseView } from "../model/app-views.js";
import { clientFromEnv } from "./config.js";
import { colours, json, table, type Output } from "../output/output.js";

export const appsClient = (): AppsClient => new AppsClient(clientFromEnv());

/**
 * After a change that made a release: follow its deploy, printing progress, and fail (exit 1,
 * with the reason) when the deploy fails.
 */
export async function followRelease(
  o: Output,
  apps: AppsClient,
  app: string,
  answer: ReleaseAnswer,
  what: string,
): Promise<void> {
  const c = colours(o);
  if (!answer.changed) {
    o.out(`no change: ${app} stays at v${answer.version}`);
    return;
  }
  o.out(`${what}: v${answer.version}`);
  const result = await apps.followDeploy(app, {
    release: answer.version,
    onLine: (line) => o.out(c.dim(`  ${line}`)),
  });
  if (!result.ok)
    throw new GantryError(
      "deploy_failed",
      `the deploy of v${answer.version} failed: ${result.error ?? "unknown reason"}`,
    );
  o.out(`${c.green("✓")} v${answer.version} is live${result.url ? ` at ${result.url}` : ""}`);
}

/** `v3` or `3` → 3. */
export function parseVersion(raw: string): number {
  const m = /^v?([1-9][0-9]{0,7})$/.exec(raw);
  if (m === null) throw new ValidationError(`"${raw}" is not a release like v3`, "version");
  return Number(m[1]);
}

/** A release phase in a few words: `succeeded (4 s)`, `failed (exit 1)`, `running`, `-`. */
export function releasePhaseText(p: ReleaseView["releasePhase"]): string {
  if (p === undefined) return "-";
  const took =
    p.finishedAt === undefined
      ? ""
      : ` (${Math.round((Date.parse(p.finishedAt) - Date.parse(p.startedAt)) / 1000)} s)`;
  if (p.status !== "failed") return `${p.status}${took}`;
  const code =
    p.exitCode === undefined ? "" : p.exitCode === null ? " (signal)" : ` (exit ${p.exitCode})`;
  return `failed${code}`;
}

export function registerReleaseCommands(program: Command, o: Output): void {
  program
    .command("releases <app>")
    .description("an app's releases, newest first")
    .option("--json", "print JSON")
    .option("-n, --num <n>", "how many to show", "20")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry releases hello
  $ gantry releases hello --json`,
    )
    .action(async (app: string, opts: { json?: boolean; num: string }) => {
      const list = (await appsClient().releases(app)).sort((a, b) => b.version - a.version);
      const n = Number(opts.num);
      if (!Number.isInteger(n) || n < 1)
        throw new ValidationError("--num must be a whole number above 0", "--num");
      if (opts.json) return json(o, list.slice(0, n));
      const c = colours(o);
      const paint = (s: string): string =>
        s === "active" ? c.green(s) : s === "failed" || s === "abandoned" ? c.red(s) : s;
      const shown = list.slice(0, n);
      // The RELEASE PHASE column only for apps that have one (a Procfile `release:` line).
      const phases = shown.some((r) => r.releasePhase !== undefined);
      table(
        o,
        ["VERSION", "STATUS", ...(phases ? ["RELEASE PHASE"] : []), "DESCRIPTION", "BY", "CREATED"],
        shown.map((r) => [
          `v${r.version}`,
          paint(r.status),
          ...(phases ? [releasePhaseText(r.releasePhase)] : []),
          r.promotedFrom === undefined
            ? r.description
            : `promoted from ${r.promotedFrom.app} v${r.promotedFrom.version}`,
          r.createdBy,
          r.createdAt.replace("T", " ").slice(0, 19),
        ]),
        "(no releases yet: push code or set config)",
      );
      for (const r of list.slice(0, n)) {
        if ((r.status !== "failed" && r.status !== "abandoned") || !r.error) continue;
        o.out("");
        o.out(c.red(`v${r.version} ${r.status}: ${r.error}`));
      }
    });

  program
    .command("releases:rollback <app> <version>")
    .description("roll back: a new release with an old release's code and config")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry releases:rollback hello v2`,
    )
    .action(async (app: string, version: string) => {
      const apps = appsClient();
      const v = parseVersion(version);
      const answer = await apps.rollback(app, v);
      await followRelease(o, apps, app, answer, `Rolling back ${app} to v${v}`);
    });

  program
    .command("releases:unpin <app>")
    .description("let a stack change an app's release again after a rollback pinned it")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
A rollback pins the app: \`gantry apply\` and stack syncs leave its code and config alone
(shown as pinned) until the stack's source of the app changes, or until this command.
Examples:
  $ gantry releases:unpin hello`,
    )
    .action(async (app: string, opts: { json?: boolean }) => {
      const res = await appsClient().unpin(app);
      if (opts.json) return json(o, res);
      o.out(
        res.pinned
          ? `unpinned ${app}: a stack may change its release again`
          : `${app} was not pinned`,
      );
    });
}
