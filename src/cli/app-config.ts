import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import { ConfigNameSchema } from "../model/app.js";
import { appsClient, followRelease } from "./releases.js";
import { colours, json, type Output } from "../output/output.js";

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
    .option(SCOPE_FLAG, SCOPE_HELP)
    .addHelpText(
      "after",
      `
Examples:
  $ gantry config hello
  $ gantry config hello --shell > .env
  $ gantry config hello --scope test`,
    )
    .action(async (app: string, opts: { json?: boolean; shell?: boolean; scope?: string }) => {
      const { values } = await appsClient().config(app, testScope(opts.scope));
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
    .option(SCOPE_FLAG, SCOPE_HELP)
    .addHelpText(
      "after",
      `
The command waits for the deploy and exits non-zero, with the reason, when it fails.
With --scope test it sets the TEST config (what a build's tests run with): no release.

Examples:
  $ gantry config:set hello GREETING=hi
  $ gantry config:set hello DATABASE_URL=postgres://db/app POOL=5
  $ gantry config:set hello DATABASE_URL=postgres://db/app_test --scope test`,
    )
    .action(async (app: string, pairs: string[], opts: { scope?: string }) => {
      const set = parseAssignments(pairs);
      const apps = appsClient();
      if (testScope(opts.scope) === "test") {
        const r = await apps.changeTestConfig(app, { set });
        return testDone(o, app, r.changed, `set ${Object.keys(set).join(", ")}`);
      }
      const answer = await apps.changeConfig(app, { set });
      await followRelease(o, apps, app, answer, `Setting ${Object.keys(set).join(", ")} on ${app}`);
    });

  program
    .command("config:unset <app> <names...>")
    .description("remove config vars: a new release")
    .option(SCOPE_FLAG, SCOPE_HELP)
    .addHelpText(
      "after",
      `
Examples:
  $ gantry config:unset hello GREETING
  $ gantry config:unset hello DATABASE_URL --scope test`,
    )
    .action(async (app: string, names: string[], opts: { scope?: string }) => {
      for (const n of names)
        if (!ConfigNameSchema.safeParse(n).success)
          throw new ValidationError(`"${n}" is not a valid variable name`, n);
      const apps = appsClient();
      if (testScope(opts.scope) === "test") {
        const r = await apps.changeTestConfig(app, { unset: names });
        return testDone(o, app, r.changed, `unset ${names.join(", ")}`);
      }
      const answer = await apps.changeConfig(app, { unset: names });
      await followRelease(o, apps, app, answer, `Unsetting ${names.join(", ")} on ${app}`);
    });
}

const SCOPE_FLAG = "--scope <scope>";
const SCOPE_HELP = "release (the app's config, default) or test (what build tests run with)";

/** `--scope`: undefined for the app's config, "test" for its TEST config. */
function testScope(raw: string | undefined): "test" | undefined {
  if (raw === undefined || raw === "release") return undefined;
  if (raw === "test") return "test";
  throw new ValidationError(`--scope must be release or test, not "${raw}"`, "scope");
}

function testDone(o: Output, app: string, changed: boolean, what: string): void {
  o.out(
    changed
      ? `${colours(o).green("✓")} ${app} TEST config: ${what} (no release; the next build's tests use it)`
      : `${app} TEST config: nothing changed`,
  );
}

function shellQuote(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
