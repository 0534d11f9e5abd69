import type { Command } from "commander";
import { GantryError, ValidationError } from "../errors.js";
import { ProcessTypeSchema } from "../model/app.js";
import type { PsEntry } from "../model/app-views.js";
import { appsClient } from "./releases.js";
import { colours, json, table, type Output } from "../output/output.js";

/** `web=3 worker=1` → {web: 3, worker: 1}. */
export function parseFormation(pairs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pairs) {
    const m = /^([^=]+)=(\d{1,3})$/.exec(p);
    if (m === null || !ProcessTypeSchema.safeParse(m[1]).success)
      throw new ValidationError(`"${p}" is not TYPE=COUNT, like web=3`, p);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

function uptime(since: string | undefined, now: number): string {
  if (since === undefined) return "-";
  const s = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

export function showPs(o: Output, list: PsEntry[], now = Date.now()): void {
  const c = colours(o);
  const paint = (s: string): string =>
    s === "running" ? c.green(s) : s === "crashed" ? c.red(s) : s;
  table(
    o,
    ["INSTANCE", "STATE", "RELEASE", "NODE", "PORT", "RESTARTS", "HEALTH", "UP", "ID"],
    list.map((p) => [
      p.name,
      paint(p.state) + (p.desired === "draining" ? " (draining)" : ""),
      `v${p.release}`,
      p.nodeDown === true ? c.red(`${p.node} (down)`) : p.node,
      p.port === undefined ? "-" : String(p.port),
      String(p.restarts),
      p.health ?? "-",
      p.state === "running" ? uptime(p.startedAt, now) : "-",
      p.id,
    ]),
    "(no instances)",
  );
  for (const p of list.filter((p) => p.state === "crashed" || p.state === "exited")) {
    if (p.lastOutput.length === 0) continue;
    o.out("");
    const code = p.exitCode === undefined || p.exitCode === null ? "" : `, exit code ${p.exitCode}`;
    o.out(c.red(`${p.name} ${p.state}${code}; last output:`));
    for (const line of p.lastOutput) o.out(`  ${line}`);
  }
}

export function registerPsCommands(program: Command, o: Output): void {
  program
    .command("ps <app>")
    .description("an app's instances: state, node, port, restarts (and why crashed ones crashed)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry ps hello
  $ gantry ps hello --json`,
    )
    .action(async (app: string, opts: { json?: boolean }) => {
      const list = await appsClient().ps(app);
      if (opts.json) return json(o, list);
      showPs(o, list);
    });

  program
    .command("ps:scale <app> <pairs...>")
    .description("set how many instances of each process type run")
    .addHelpText(
      "after",
      `
New instances start (and must pass) before surplus ones drain and stop; the command follows
until they do, saying what it waits for, and exits 1 if they are not up within the app's
deploy timeout. Examples:
  $ gantry ps:scale hello web=3
  $ gantry ps:scale hello web=2 worker=1`,
    )
    .action(async (app: string, pairs: string[]) => {
      const changes = parseFormation(pairs);
      const apps = appsClient();
      const info = await apps.scale(app, changes);
      const now = Object.entries(info.formation)
        .map(([t, n]) => `${t}=${n}`)
        .join(" ");
      if (info.scaling === undefined) {
        o.out(`no change: ${app} runs ${now}`);
        return;
      }
      const c = colours(o);
      o.out(`Scaling ${app}: ${now}`);
      const result = await apps.followScale(app, {
        id: info.scaling,
        onLine: (line) => o.out(c.dim(`  ${line}`)),
      });
      if (!result.ok)
        throw new GantryError(
          "scale_failed",
          `scaling ${app} failed: ${result.error ?? "unknown reason"}`,
        );
      o.out(`${c.green("✓")} ${app} runs ${now}`);
    });
}
