/**
 * `gantry apps:set APP key=value…` (issue 12): an app's settings, Heroku-style. Keys:
 * runtime=process|docker, memory=512M, pids=256, read-only=true|false, build-args=A,B,
 * health-path=/up, deploy-timeout=60s, drain=10s, (issue 15) release-timeout=10m, and (issue 13) https-redirect=true|false,
 * hsts=true|false|<seconds>, (issue 15) test="npm test", test-timeout=5m, (issue 16) cpu=0.5,
 * constraint=role=web, spread=location (docs/scheduler.md) (`default` puts memory, pids and read-only back to their defaults;
 * `build-args=` clears the list).
 */
import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import { HSTS_DEFAULT_SECONDS } from "../model/app.js";
import { AppSetSchema, parseMemoryMb, type AppSet } from "../model/app-set.js";
import { parseDuration } from "../model/duration.js";
import { colours, json, type Output } from "../output/output.js";
import { appsClient, followRelease } from "./releases.js";

/** The keys apps:set takes, in the order help lists them. */
export const APP_SET_KEYS = [
  "runtime",
  "memory",
  "pids",
  "read-only",
  "build-args",
  "health-path",
  "deploy-timeout",
  "drain",
  "release-timeout",
  "https-redirect",
  "hsts",
  "test",
  "test-timeout",
  "cpu",
  "constraint",
  "spread",
] as const;
type Key = (typeof APP_SET_KEYS)[number];

/** Other spellings taken for a key (the stack file's field names). */
const ALIASES: Record<string, Key> = {
  httpsRedirect: "https-redirect",
  testTimeout: "test-timeout",
};

const bad = (key: string, what: string): ValidationError =>
  new ValidationError(`${key} must be ${what}`, key);

function one(key: Key, raw: string, out: AppSet): void {
  const container = (): NonNullable<AppSet["container"]> => (out.container ??= {});
  switch (key) {
    case "runtime":
      if (raw !== "process" && raw !== "docker") throw bad(key, "process or docker");
      out.runtime = raw;
      return;
    case "memory": {
      const mb = raw === "default" ? null : parseMemoryMb(raw);
      if (mb === undefined) throw bad(key, "a size like 512M or 1G (or default)");
      container().memoryMb = mb;
      return;
    }
    case "pids":
      if (raw !== "default" && !/^\d{1,7}$/.test(raw))
        throw bad(key, "a whole number like 256 (or default)");
      container().pids = raw === "default" ? null : Number(raw);
      return;
    case "read-only":
      if (!["true", "false", "default"].includes(raw)) throw bad(key, "true or false");
      container().readOnly = raw === "default" ? null : raw === "true";
      return;
    case "build-args":
      out.buildArgs = raw === "" ? [] : raw.split(",").map((s) => s.trim());
      return;
    case "health-path":
      out.healthPath = raw;
      return;
    case "deploy-timeout":
    case "drain":
    case "release-timeout": {
      const ms = parseDuration(raw);
      if (ms === undefined) throw bad(key, "a duration like 30s");
      if (key === "drain") out.drainMs = ms;
      else if (key === "release-timeout") out.releaseTimeoutMs = ms;
      else out.deployTimeoutMs = ms;
      return;
    }
    case "https-redirect":
      if (raw !== "true" && raw !== "false") throw bad(key, "true or false");
      out.httpsRedirect = raw === "true";
      return;
    case "hsts":
      if (raw === "true") out.hsts = HSTS_DEFAULT_SECONDS;
      else if (raw === "false") out.hsts = 0;
      else if (/^\d{1,9}$/.test(raw)) out.hsts = Number(raw);
      else throw bad(key, "true (one year), false, or a max-age in seconds like 31536000");
      return;
    case "test":
      out.test = raw;
      return;
    case "test-timeout": {
      const ms = raw === "default" ? null : parseDuration(raw);
      if (ms === undefined) throw bad(key, "a duration like 5m (or default: 10 min)");
      out.testTimeoutMs = ms;
      return;
    }
    case "cpu":
      if (raw === "default" || raw === "none") out.cpu = null;
      else if (/^\d{1,4}(\.\d{1,3})?$/.test(raw) && Number(raw) > 0) out.cpu = Number(raw);
      else throw bad(key, "a number of CPUs like 0.5 or 2 (or none)");
      return;
    case "constraint":
      out.constraints = raw === "" ? [] : raw.split(",").map((c) => c.trim());
      return;
    case "spread":
      out.spread = raw === "" || raw === "none" ? null : raw;
      return;
  }
}

/** Where each settings field comes from, to name the key in a range error. */
const KEY_OF: Record<string, Key> = {
  runtime: "runtime",
  memoryMb: "memory",
  pids: "pids",
  readOnly: "read-only",
  buildArgs: "build-args",
  healthPath: "health-path",
  deployTimeoutMs: "deploy-timeout",
  drainMs: "drain",
  releaseTimeoutMs: "release-timeout",
  httpsRedirect: "https-redirect",
  hsts: "hsts",
  test: "test",
  testTimeoutMs: "test-timeout",
  cpu: "cpu",
  constraints: "constraint",
  spread: "spread",
};

/** Parse `key=value` pairs into a settings change; errors name the key. */
export function parseAppSetPairs(pairs: readonly string[]): AppSet {
  if (pairs.length === 0)
    throw new ValidationError(
      `give a setting, e.g. runtime=docker (keys: ${APP_SET_KEYS.join(", ")})`,
    );
  const out: AppSet = {};
  const seen = new Set<string>();
  for (const p of pairs) {
    const eq = p.indexOf("=");
    const given = eq < 0 ? p : p.slice(0, eq);
    const key = ALIASES[given] ?? given;
    if (!(APP_SET_KEYS as readonly string[]).includes(key))
      throw new ValidationError(
        `"${key}" is not a setting: use one of ${APP_SET_KEYS.join(", ")}`,
        key,
      );
    if (eq < 0) throw new ValidationError(`${key} needs a value: ${key}=…`, key);
    if (seen.has(key)) throw new ValidationError(`${key} is given twice`, key);
    seen.add(key);
    one(key as Key, p.slice(eq + 1).trim(), out);
  }
  const checked = AppSetSchema.safeParse(out);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const field = [...issue.path].reverse().find((s) => typeof s === "string" && s in KEY_OF);
    const key = KEY_OF[String(field)] ?? String(issue.path[0] ?? "");
    throw new ValidationError(`${key} ${issue.message}`, key);
  }
  return checked.data;
}

export function registerAppSetCommand(program: Command, o: Output): void {
  program
    .command("apps:set <app> <pairs...>")
    .description(
      "change an app's settings: runtime, container limits, build args, health, timing, HTTPS",
    )
    .option("--json", "print the app as JSON (after the deploy, when one was needed)")
    .addHelpText(
      "after",
      `
Keys:
  runtime=process|docker   how instances run (a release of the same code moves them)
  memory=512M              memory limit per container (default 512M)
  pids=256                 process limit per container (default 512)
  read-only=true|false     read-only root filesystem (a writable /tmp is mounted)
  build-args=A,B           config vars passed to Dockerfile builds (no other config is)
  health-path=/up          HTTP path web instances must answer below 500
  deploy-timeout=60s       how long new instances have to pass
  drain=10s                how long old instances keep serving after a deploy
  release-timeout=10m      how long a Procfile release: command may run before its release
                           fails (default 10m)
  https-redirect=true      the router answers plain HTTP with a 308 to HTTPS (for names it has
                           a certificate for; also spelled httpsRedirect)
  hsts=true|<seconds>      HTTPS answers carry Strict-Transport-Security (true: one year;
                           false or 0: off)
  test="npm test"          the command every build runs before it is released (a failure
                           refuses the push); test= removes it (the Procfile test: line applies)
  test-timeout=5m          how long the tests may take (default 10m; "default" puts it back)
  cpu=0.5                  CPUs reserved per instance when placing (none: no reservation);
                           memory=… is reserved too (docs/scheduler.md)
  constraint=role=web      only nodes with these labels (label=value, comma-separated; all
                           must hold); constraint= removes them
  spread=location          spread instances across the values of this node label (none: off)
memory, pids and read-only take "default" too. A change of runtime or container limits waits
for the deploy it makes and exits non-zero, with the reason, when that fails.

Examples:
  $ gantry apps:set hello runtime=docker memory=256M pids=128
  $ gantry apps:set hello read-only=true health-path=/up
  $ gantry apps:set hello build-args=NPM_TOKEN,NODE_ENV --json
  $ gantry apps:set hello https-redirect=true hsts=true
  $ gantry apps:set hello test="npm test" test-timeout=5m
  $ gantry apps:set hello cpu=0.5 memory=256M constraint=role=web spread=location`,
    )
    .action(async (app: string, pairs: string[], opts: { json?: boolean }) => {
      const set = parseAppSetPairs(pairs);
      const apps = appsClient();
      const answer = await apps.settings(app, set);
      if (answer.newRelease !== undefined) {
        const quiet: Output = { ...o, out: () => undefined };
        await followRelease(
          opts.json ? quiet : o,
          apps,
          app,
          { changed: true, version: answer.newRelease },
          `Moving ${app}'s instances (${pairs.join(" ")})`,
        );
      }
      if (opts.json) return json(o, answer);
      if (answer.newRelease === undefined)
        o.out(`${colours(o).green("✓")} ${app}: ${pairs.join(" ")} (applies from the next deploy)`);
    });
}
