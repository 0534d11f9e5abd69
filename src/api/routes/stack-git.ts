import { DEFAULT_BUILD_SETTINGS } from "../../build/builder.js";
import { createStackRepo, STACK_REPO } from "../../gitops/repo.js";
import { readGitOps } from "../../gitops/records.js";
import { allows } from "../../model/token.js";
import type { Ctx } from "../context.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { answer, cgiEnv, gitPrincipal, KeyedQueue, runBackend } from "./git.js";

/**
 * The stack repository over git's smart HTTP (`/git/_stack.git`), served like app repos by
 * `git http-backend` with the token as the Basic-auth password: fetching needs `stack:repo:read`,
 * pushing `stack:repo:write`. A push to main runs the stack hook (src/gitops/stack-hook.ts),
 * which plans and applies the pushed commit with the pusher's token before the ref moves.
 * Registered before the app repos' route, which would refuse `_stack` as an app name.
 */
export function stackGitRoutes(deps: ApiDeps): RouteDef[] {
  const pushes = new KeyedQueue();
  const handler = (ctx: Ctx): Promise<void> => serveStackGit(deps, pushes, ctx);
  const path = `/git/${STACK_REPO}.git/*rest`;
  const summary =
    "git smart-HTTP for the stack repository (clone, fetch, push: a push to main plans and applies); Basic auth with the token as password";
  return [
    { method: "GET", path, summary, public: true, handler },
    { method: "POST", path, summary, public: true, handler },
  ];
}

async function serveStackGit(deps: ApiDeps, pushes: KeyedQueue, ctx: Ctx): Promise<void> {
  const rest = ctx.params["rest"] ?? "";
  // Only what git's smart HTTP asks for: the ref advertisement, then a pack exchange.
  const smart =
    ctx.method === "GET"
      ? rest === "info/refs"
      : ["git-upload-pack", "git-receive-pack"].includes(rest);
  if (!smart) return answer(ctx, 404, `not a git smart-HTTP request: ${ctx.method} ${rest}`);
  const service = ctx.method === "GET" ? ctx.query.get("service") : rest;
  const push = service === "git-receive-pack";
  const who = gitPrincipal(deps, ctx);
  if (who === undefined) return;
  if (!allows(who.policies, "stack", "repo", push ? "write" : "read")) {
    return answer(ctx, 403, `this token may not ${push ? "push to" : "read"} the stack repository`);
  }
  if (deps.stack === undefined) {
    return answer(ctx, 503, "this server does not host a stack repository");
  }
  // A store-only server (tests) has a temporary data directory for it.
  const dataDir = deps.stack.dataDir();
  if (push) {
    const { record } = await readGitOps(deps.store);
    if (record?.follow !== undefined) {
      return answer(
        ctx,
        409,
        `the stack follows ${record.follow.url} (stack:connect): push there, or run gantry stack:disconnect to take pushes here again`,
      );
    }
  }
  const limit = deps.build?.maxPushBytes ?? DEFAULT_BUILD_SETTINGS.maxPushBytes;
  await createStackRepo(dataDir);
  const env = cgiEnv(dataDir, ctx, STACK_REPO, rest, who, push, limit);
  delete env["GANTRY_APP"];
  // One push at a time, the pack and the hook's sync and the ref update together: a second
  // push waits, and its sync then sees where main is now.
  if (push && ctx.method === "POST") await pushes.run("stack", () => runBackend(ctx, env, limit));
  else await runBackend(ctx, env, limit);
}
