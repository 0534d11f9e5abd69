import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import { ConfigNameSchema } from "../model/app.js";
import { appsClient, followRelease } from "./releases.js";
import { json, type Output } from "../output/output.js";

/** `K=V` pairs; the value may contain `=` and be empty. */
export function parseAssignments(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf("=");
    const name = eq < 0 ? p : p.slice(0, eq);
    if (eq < 0 || !ConfigNameSchema.safeParse(name).success)
      throw new ValidationError(`"${p}" is not NAME=VALUE with NAME a valid variable name`, name);
    out[name] = p.slice(eq + 1);
  }
  return out;
}

export function registerAppConfigCommands(program: Command, o: Output): void {
  program
    .command("config <app>")
    .description("show an app's config vars (their values: they are secrets, mind the screen)")
    .option("--json", "print JSON")
    .option("-s, --shell", "print as NAME=VALUE lines (for .env files)")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry config hello
  $ gantry config hello --shell > .env`,
    )
    .action(async (app: string, opts: { json?: boolean; shell?: boolean }) => {
      const { values } = await appsClient().config(app);
      if (opts.json) return json(o, values);
      const names = Object.keys(values).sort();
      if (opts.shell) {
        for (const n of names) o.out(`${n}=${shellQuote(values[n]!)}`);
        return;
      }
      if (names.length === 0) return o.out(`${app} has no config vars`);
      const width = Math.max(...names.map((n) => n.length)) + 1;
      for (const n of names) o.out(`${`${n}:`.padEnd(width)} ${values[n]}`);
    });

  program
    .command("config:set <app> <pairs...>")
    .description("set config vars: a new release, rolled out without downtime")
    .addHelpText(
      "after",
      `
The command waits for the deploy and exits non-zero, with the reason, when it fails.

Examples:
  $ gantry config:set hello GREETING=hi
  $ gantry config:set hello DATABASE_URL=postgres://db/app POOL=5`,
    )
    .action(async (app: string, pairs: string[]) => {
      const set = parseAssignments(pairs);
      const apps = appsClient();
      const answer = await apps.changeConfig(app, { set });
      await followRelease(o, apps, app, answer, `Setting ${Object.keys(set).join(", ")} on ${app}`);
    });

  program
    .command("config:unset <app> <names...>")
    .description("remove config vars: a new release")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry config:unset hello GREETING`,
    )
    .action(async (app: string, names: string[]) => {
      for (const n of names)
        if (!ConfigNameSchema.safeParse(n).success)
          throw new ValidationError(`"${n}" is not a valid variable name`, n);
      const apps = appsClient();
      const answer = await apps.changeConfig(app, { unset: names });
      await followRelease(o, apps, app, answer, `Unsetting ${names.join(", ")} on ${app}`);
    });
}

function shellQuote(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
