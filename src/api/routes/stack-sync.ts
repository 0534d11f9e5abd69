import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as z from "zod";
import { formatResult } from "../../build/result.js";
import { ValidationError, HttpError, notFound } from "../../errors.js";
import { stackRepoPath } from "../../gitops/repo.js";
import { POKE_KEY, readGitOps, SEALED } from "../../gitops/records.js";
import { checkSignature } from "../../gitops/signature.js";
import type { GitOpsService } from "../../gitops/service.js";
import { allows } from "../../model/token.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { requestSignal } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";

const run = promisify(execFile);
const CommitSchema = z
  .string()
  .regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, "must be a full git commit id");

/** The GitOps service of this server, or 503. */
export function gitopsOf(deps: ApiDeps): GitOpsService {
  if (deps.stack === undefined)
    throw new HttpError(503, "unavailable", "this server does not run GitOps for the stack");
  return deps.stack;
}

/**
 * The stack's syncs: `POST /v1/stack/syncs` takes a commit's tar from the stack repo's hook and
 * answers the plan and the apply as a text stream; `POST /v1/stack/webhook` is how an outside
 * repo's host (GitHub, Gitea) says it moved. The webhook is the one route that takes no token:
 * it is authenticated by the HMAC signature of its body with the secret given to stack:connect.
 */
export function stackSyncRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "POST",
      path: "/v1/stack/syncs",
      summary:
        "Plan and apply the commit whose tar is the body (from the stack repo's hook, ?commit&old); answers a text stream whose last line is `gantry:result {json}`",
      handler: (ctx) => syncPush(deps, ctx),
    },
    {
      method: "POST",
      path: "/v1/stack/webhook",
      summary:
        "A followed repo moved: sync now. Authenticated by signature (X-Hub-Signature-256 or X-Gitea-Signature, HMAC-SHA256 of the body with the stack:connect secret), not by token",
      public: true,
      handler: (ctx) => webhook(deps, ctx),
    },
  ];
}

async function syncPush(deps: ApiDeps, ctx: Ctx): Promise<void> {
  ctx.allowQuery("commit", "old");
  if (!allows(ctx.who.policies, "stack", "repo", "write")) throw forbidden("push to the stack");
  const service = gitopsOf(deps);
  const commit = parseCommit(ctx.query.get("commit"), "commit");
  const oldRaw = ctx.query.get("old");
  const old = oldRaw === null ? "" : parseCommit(oldRaw, "old");
  const { record } = await readGitOps(deps.store);
  if (record?.follow !== undefined)
    throw new HttpError(409, "conflict", `the stack follows ${record.follow.url}: push there`);
  const repo = stackRepoPath(service.dataDir());

  ctx.res.writeHead(200, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  ctx.res.flushHeaders();
  const write = (line: string): void => {
    if (!ctx.res.writableEnded && !ctx.res.destroyed) ctx.res.write(line + "\n");
  };
  const signal = requestSignal(ctx, deps.closing);
  write(`-----> Stack: planning ${commit.slice(0, 12)}`);
  const outcome = await service.sync({
    commit,
    origin: "push",
    applier: { name: ctx.who.name, tokenId: ctx.who.tokenId, token: bearer(ctx) },
    out: write,
    // A pusher that goes away takes its push with it (git will not move the ref): stop.
    cancelled: signal,
    // Pushes to the stack repo are one at a time (its git route), so main is where this
    // push's `old` says, unless it moved some other way.
    precondition: async () => {
      if (signal.aborted) return "the pusher went away";
      const main = await currentMain(repo);
      return main === old
        ? undefined
        : "main moved while this push was waiting: fetch and push again";
    },
    checkout: (c) => c.fromTar(commit, ctx.req, service.maxBytes),
  });
  if (outcome.status !== "done") ctx.req.resume();
  write(
    formatResult(
      outcome.status === "done"
        ? { ok: true }
        : { ok: false, error: "error" in outcome ? outcome.error : `superseded by ${outcome.by}` },
    ),
  );
  ctx.res.end();
}

async function webhook(deps: ApiDeps, ctx: Ctx): Promise<void> {
  ctx.allowQuery();
  const body = await ctx.body();
  const service = gitopsOf(deps);
  const { record } = await readGitOps(deps.store);
  if (record?.follow === undefined) throw notFound("a followed repository (gantry stack:connect)");
  const secret = record.follow.secret;
  if (secret === undefined)
    throw new HttpError(
      401,
      "unauthorized",
      "the stack has no webhook secret (stack:connect --secret)",
    );
  const check = checkSignature(ctx.req.headers, body, service.box.decrypt(secret, SEALED.secret));
  if (!check.ok) throw new HttpError(401, "unauthorized", check.reason);
  const event = ctx.req.headers["x-github-event"] ?? ctx.req.headers["x-gitea-event"];
  if (event === "ping") return ctx.send(200, { ok: true, event: "ping" });
  const ref = refOf(body);
  if (ref !== undefined && ref !== `refs/heads/${record.follow.branch}`)
    return ctx.send(202, {
      ok: true,
      ignored: `${ref} is not the followed branch ${record.follow.branch}`,
    });
  const who = { name: `webhook (${check.header})`, tokenId: "" };
  await deps.store.txn({
    success: [
      { type: "put", key: POKE_KEY, value: JSON.stringify({ at: new Date().toISOString(), ref }) },
      deps.audit.entry(who, "stack.webhook", ref ?? record.follow.branch),
    ],
  });
  ctx.send(202, { ok: true, sync: "started" });
}

function parseCommit(raw: string | null, field: string): string {
  const r = CommitSchema.safeParse(raw ?? "");
  if (!r.success) throw new ValidationError(`${field} ${r.error.issues[0]!.message}`, field);
  return r.data;
}

/** The token secret the request authenticated with (Bearer, or Basic's password). */
export function bearer(ctx: Ctx): string {
  const header = ctx.req.headers.authorization ?? "";
  if (header.startsWith("Bearer ")) return header.slice(7).trim();
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  return decoded.slice(decoded.indexOf(":") + 1);
}

/** Where main is in the stack repo ("" when it does not exist yet). */
async function currentMain(repo: string): Promise<string> {
  try {
    const { stdout } = await run("git", [
      "--git-dir",
      repo,
      "rev-parse",
      "--verify",
      "-q",
      "refs/heads/main",
    ]);
    return stdout.trim();
  } catch {
    return "";
  }
}

/** The pushed ref a webhook's JSON body names (GitHub and Gitea push events: `ref`). */
function refOf(body: Buffer): string | undefined {
  try {
    const ref = (JSON.parse(body.toString("utf8")) as { ref?: unknown }).ref;
    return typeof ref === "string" ? ref : undefined;
  } catch {
    return undefined;
  }
}
