/**
 * The stack repository Gantry hosts: `DATA_DIR/repos/_stack.git` (an underscore cannot start an
 * app name, so it never collides with an app's repo), served by the same `git http-backend` as
 * app repos, with its own pre-receive hook (src/gitops/stack-hook.ts).
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureBareRepo, preReceiveScript, reposDir } from "../build/repo.js";

/** The repository's name under the git route: `/git/_stack.git`. */
export const STACK_REPO = "_stack";

/** `DATA_DIR/repos/_stack.git`. */
export const stackRepoPath = (dataDir: string): string =>
  join(reposDir(dataDir), `${STACK_REPO}.git`);

/** The compiled stack hook (from dist/; tests running the sources use the build's copy). */
export function stackHookProgram(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts")) return resolve(dirname(here), "../../dist/gitops/stack-hook.js");
  return join(dirname(here), "stack-hook.js");
}

/** Create the stack repository (or refresh its hook); returns its path. */
export async function createStackRepo(dataDir: string): Promise<string> {
  const path = stackRepoPath(dataDir);
  const hook = preReceiveScript(
    process.execPath,
    stackHookProgram(),
    "a push to main is planned and applied to the platform before refs move",
  );
  await ensureBareRepo(path, hook);
  return path;
}
