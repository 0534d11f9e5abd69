import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { AppNameSchema } from "../model/app.js";
import { parseWith } from "../validate.js";

const run = promisify(execFile);

/** `DATA_DIR/repos`: the GIT_PROJECT_ROOT of `git http-backend`. */
export const reposDir = (dataDir: string): string => join(dataDir, "repos");

/** `DATA_DIR/repos/<app>.git` (the name is checked: it becomes a path). */
export function appRepoPath(dataDir: string, app: string): string {
  return join(reposDir(dataDir), `${parseWith(AppNameSchema, app, "app")}.git`);
}

/**
 * The compiled hook program. From dist/ it sits next to this file; when running from the
 * TypeScript sources (tests), the build's copy in dist/ is used: `npm run build` makes it.
 */
export function hookProgram(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts")) return resolve(dirname(here), "../../dist/build/hook.js");
  return join(dirname(here), "hook.js");
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The pre-receive hook script: it only execs node on the hook program. */
export function preReceiveScript(
  node = process.execPath,
  program = hookProgram(),
  what = "a push to main or master is built and deployed before refs move",
): string {
  return (
    "#!/bin/sh\n" +
    `# Installed by Gantry: ${what}.\n` +
    `exec ${quote(node)} ${quote(program)} "$@"\n`
  );
}

/**
 * Create the bare repository of an app with Gantry's pre-receive hook, or bring an existing
 * one's hook up to date (the path of node or of the hook program may have moved).
 */
export async function createAppRepo(dataDir: string, app: string): Promise<string> {
  const path = appRepoPath(dataDir, app);
  await ensureBareRepo(path, preReceiveScript());
  return path;
}

/**
 * Create a bare repository that accepts pushes over `git http-backend`, with `hook` as its
 * pre-receive script, or bring an existing one's hook up to date. Idempotent and safe against
 * a concurrent call: the repo is made under a temporary name and renamed.
 */
export async function ensureBareRepo(path: string, hook: string): Promise<void> {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
    try {
      // --template= : no sample hooks, nothing but what Gantry installs.
      await run("git", ["init", "--quiet", "--bare", "--template=", "--initial-branch=main", tmp]);
      // Pushes come through `git http-backend`, which only allows them when told to.
      await run("git", ["--git-dir", tmp, "config", "http.receivepack", "true"]);
      installHook(tmp, hook);
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(path)) throw err; // lost a race to a concurrent create: fine
    }
  }
  installHook(path, hook);
}

function installHook(repo: string, script: string): void {
  const hook = join(repo, "hooks", "pre-receive");
  let current: string | undefined;
  try {
    current = readFileSync(hook, "utf8");
  } catch {
    current = undefined;
  }
  if (current === script) return;
  mkdirSync(dirname(hook), { recursive: true });
  const tmp = `${hook}.tmp-${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, script, { mode: 0o755 });
  renameSync(tmp, hook);
}

/** Remove an app's repository (apps:destroy). */
export function removeAppRepo(dataDir: string, app: string): void {
  rmSync(appRepoPath(dataDir, app), { recursive: true, force: true });
}
