import type { Command } from "commander";
import { DEFAULT_TEST_TIMEOUT_MS } from "../build/test-step.js";
import { parseDuration } from "../model/duration.js";
import { ValidationError } from "../errors.js";
import type { AppView } from "../model/app-views.js";
import { RELEASE_TIMEOUT_MS } from "../model/app.js";
import { appsClient } from "./releases.js";
import { colours, json, table, type Output } from "../output/output.js";
import { registerAppSetCommand } from "./apps-set.js";

function durationFlag(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new ValidationError(`${flag} must be a duration like 30s`, flag);
  return ms;
}

const formation = (f: Record<string, number>): string =>
  Object.entries(f)
    .map(([t, n]) => `${t}=${n}`)
    .join(" ") || "-";

export function registerAppCommands(program: Command, o: Output): void {
  program
    .command("apps")
    .description("list apps")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry apps
  $ gantry apps --json`,
    )
    .action(async (opts: { json?: boolean }) => {
      const { value } = await appsClient().list();
      if (opts.json) return json(o, value);
      table(
        o,
        ["NAME", "RELEASE", "FORMATION", "URL"],
        value.map((a) => [
          a.name,
          a.currentRelease === 0 ? "-" : `v${a.currentRelease}`,
          formation(a.formation),
          a.url,
        ]),
        "(no apps yet: gantry apps:create NAME)",
      );
    });

  program
    .command("apps:create <name>")
    .description("create an app (and its git repository)")
    .option("--health-path <path>", "the HTTP path web instances must answer below 500", "/")
    .option("--deploy-timeout <duration>", "how long new instances have to pass (default 30s)")
    .option("--drain <duration>", "how long old instances keep serving after a deploy (default 5s)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry apps:create hello
  $ gantry apps:create api --health-path /up --deploy-timeout 60s`,
    )
    .action(
      async (
        name: string,
        opts: { healthPath: string; deployTimeout?: string; drain?: string; json?: boolean },
      ) => {
        const deployTimeoutMs = durationFlag(opts.deployTimeout, "--deploy-timeout");
        const drainMs = durationFlag(opts.drain, "--drain");
        const app = await appsClient().create(name, {
          healthPath: opts.healthPath,
          ...(deployTimeoutMs === undefined ? {} : { deployTimeoutMs }),
          ...(drainMs === undefined ? {} : { drainMs }),
        });
        if (opts.json) return json(o, app);
        const c = colours(o);
        o.out(`${c.green("✓")} created ${app.name}`);
        o.out(`  git remote  ${app.gitUrl}`);
        o.out(`  url         ${app.url}`);
        o.out("");
        o.out("Deploy it with git:");
        o.out(`  git remote add gantry ${app.gitUrl}`);
        o.out("  git push gantry main");
        o.out(c.dim("(git asks for a password: use your Gantry token; any user name will do)"));
      },
    );

  program
    .command("apps:info <name>")
    .description("an app's release, formation, domains, URLs and last deploy")
    .option("--json", "print JSON (with gitUrl and url)")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry apps:info hello
  $ gantry apps:info hello --json | jq -r .url`,
    )
    .action(async (name: string, opts: { json?: boolean }) => {
      const app = await appsClient().info(name);
      if (opts.json) return json(o, app);
      showInfo(o, app);
    });

  registerAppSetCommand(program, o);

  program
    .command("apps:destroy <name>")
    .description("destroy an app: instances, routes, repository, releases, config, builds, logs")
    .requiredOption("--confirm <name>", "the app's name again: this cannot be undone")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry apps:destroy hello --confirm hello`,
    )
    .action(async (name: string, opts: { confirm: string }) => {
      if (opts.confirm !== name)
        throw new ValidationError(
          `--confirm must repeat the app's name: gantry apps:destroy ${name} --confirm ${name}`,
          "--confirm",
        );
      const r = await appsClient().destroy(name, opts.confirm);
      o.out(
        `destroyed ${name} (${r.stopped} instance(s) stopped${r.stillStopping > 0 ? `, ${r.stillStopping} still stopping` : ""})`,
      );
    });

  program
    .command("domains <app>")
    .description("an app's custom domains")
    .option("--json", "print JSON")
    .action(async (app: string, opts: { json?: boolean }) => {
      const info = await appsClient().info(app);
      if (opts.json) return json(o, info.domains);
      o.out(info.url);
      for (const d of info.domains) o.out(d);
    });

  program
    .command("domains:add <app> <domain>")
    .description("route a custom domain to an app")
    .addHelpText(
      "after",
      `
Point the domain's DNS at the router. Examples:
  $ gantry domains:add hello www.example.com`,
    )
    .action(async (app: string, domain: string) => {
      const info = await appsClient().addDomain(app, domain.toLowerCase());
      o.out(`${app} answers on ${[new URL(info.url).hostname, ...info.domains].join(", ")}`);
    });

  program
    .command("domains:remove <app> <domain>")
    .description("stop routing a custom domain to an app")
    .action(async (app: string, domain: string) => {
      const info = await appsClient().removeDomain(app, domain.toLowerCase());
      o.out(`${app} answers on ${[new URL(info.url).hostname, ...info.domains].join(", ")}`);
    });
}

/** `docker (memory 256M, pids 128, read-only)`; the release's runtime when it differs. */
function runtimeText(app: AppView): string {
  const c = app.container ?? {};
  const limits = [
    ...(c.memoryMb === undefined ? [] : [`memory ${c.memoryMb}M`]),
    ...(c.pids === undefined ? [] : [`pids ${c.pids}`]),
    ...(c.readOnly === true ? ["read-only"] : []),
  ];
  const wanted = app.runtime ?? "process";
  const running = app.release === undefined ? wanted : (app.release.runtime ?? "process");
  const text = `${wanted}${limits.length > 0 ? ` (${limits.join(", ")})` : ""}`;
  return running === wanted ? text : `${text}; v${app.release!.version} runs as ${running}`;
}

/** `redirect from HTTP, HSTS 31536000 s`, or `-` when neither is on. */
function httpsText(app: AppView): string {
  const parts = [
    ...(app.httpsRedirect === true ? ["redirect from HTTP"] : []),
    ...(app.hsts === undefined ? [] : [`HSTS ${app.hsts} s`]),
  ];
  return parts.join(", ") || "-";
}

function showInfo(o: Output, app: AppView): void {
  const c = colours(o);
  o.out(c.bold(`=== ${app.name}`));
  const rows: [string, string][] = [
    ["Git URL", app.gitUrl],
    ["Web URL", app.url],
    ["Domains", app.domains.join(", ") || "-"],
    [
      "Release",
      app.release === undefined
        ? "none yet"
        : `v${app.release.version} (${app.release.description})`,
    ],
    ...(app.release?.image === undefined ? [] : [["Image", app.release.image] as [string, string]]),
    ["Runtime", runtimeText(app)],
    ["Formation", formation(app.formation)],
    ...(app.pinned === undefined
      ? []
      : [
          [
            "Pinned",
            `to v${app.pinned.release} by ${app.pinned.by} at ${app.pinned.at} (releases:unpin to release it)`,
          ] as [string, string],
        ]),
    ["Health path", app.healthPath],
    ["Deploy timeout", `${app.deployTimeoutMs / 1000} s`],
    ...releasePhaseRow(app),
    ...testsRow(app),
    ["Drain", `${app.drainMs / 1000} s`],
    ["HTTPS", httpsText(app)],
    ["Created", `${app.createdAt} by ${app.createdBy}`],
  ];
  if (app.deploy !== undefined) {
    const d = app.deploy;
    rows.push([
      "Last deploy",
      `v${d.release} ${d.status}${d.finishedAt ? ` at ${d.finishedAt}` : ""}${d.error ? `: ${d.error.split("\n")[0]}` : ""}`,
    ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  for (const [k, v] of rows) o.out(`${`${k}:`.padEnd(width)} ${v}`);
}

/**
 * `Tests: npm test (apps:set test; time limit 600 s)` when builds are tested (issue 15): the app's setting, else
 * the serving release's Procfile `test:` line (the next build's Procfile decides for it).
 */
function testsRow(app: AppView): [string, string][] {
  const procfile = app.release?.processTypes["test"];
  const command = app.test ?? procfile;
  if (command === undefined) return [];
  const limit = (app.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS) / 1000;
  const from = app.test === undefined ? "Procfile" : "apps:set test";
  return [["Tests", `${command} (${from}; time limit ${limit} s)`]];
}

/** `Release phase: node migrate.js (time limit 600 s)` when the serving release has one. */
function releasePhaseRow(app: AppView): [string, string][] {
  const command = app.release?.processTypes["release"];
  if (command === undefined) return [];
  const limit = (app.releaseTimeoutMs ?? RELEASE_TIMEOUT_MS) / 1000;
  return [["Release phase", `${command} (time limit ${limit} s)`]];
}
