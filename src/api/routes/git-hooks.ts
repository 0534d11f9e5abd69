import { HttpError, ValidationError, notFound } from "../../errors.js";
import { readConnection, rememberDelivery } from "../../apps/connect-records.js";
import { AppNameSchema } from "../../model/app.js";
import { checkSignature } from "../../gitops/signature.js";
import { deliveryId, parseHookEvent, type HookEvent } from "../../gitops/hook-events.js";
import type { AppConnection } from "../../model/connect.js";
import type { Ctx } from "../context.js";
import { queueConnectedBuild, sealContext, secretBox } from "../connect-build.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { pullRequestEvent } from "./git-hooks-pr.js";

/**
 * `POST /v1/hooks/git/:app`: a connected repo's host (GitHub, Gitea) says something happened.
 * It takes no token: the body's HMAC-SHA256 signature with the connection's secret is checked
 * (X-Hub-Signature-256 or X-Gitea-Signature, src/gitops/signature.ts), and each delivery id is
 * taken once a day (a replay is refused). Nothing is read from the body before the signature
 * has been checked; nothing changes for a call that fails either check.
 */
export function gitHookRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "POST",
      path: "/v1/hooks/git/:app",
      summary:
        "A connected repo's webhook (GitHub or Gitea; signed with the apps:connect secret, not a token): a push to the connected branch is fetched, built and released in the background (202); ping → 200; a replayed delivery → 409",
      public: true,
      handler: (ctx) => hook(deps, ctx),
    },
  ];
}

async function hook(deps: ApiDeps, ctx: Ctx): Promise<void> {
  ctx.allowQuery();
  const app = pathParam(ctx, "app", AppNameSchema);
  const stored = await readConnection(deps.store, app);
  if (stored === undefined)
    throw notFound(`a connected repo of app "${app}" (gantry apps:connect)`);
  // At most 2 MB (the API's limit): a push event lists at most 20 commits.
  const body = await ctx.body();
  const c = stored.record;
  const secret = secretBox(deps).decrypt(c.secret, sealContext(app, "secret"));
  const check = checkSignature(ctx.req.headers, body, secret);
  if (!check.ok) throw new HttpError(401, "unauthorized", check.reason);
  const delivery = deliveryId(ctx.req.headers);
  if (delivery === undefined)
    throw new ValidationError(
      "no delivery id: send X-GitHub-Delivery or X-Gitea-Delivery",
      "x-github-delivery",
    );
  const event = parseHookEvent(ctx.req.headers, body);
  if (!(await rememberDelivery(deps.store, app, delivery)))
    throw new HttpError(
      409,
      "replayed",
      `delivery ${delivery} was taken already: a replay is refused`,
    );
  const via = `webhook ${delivery}`;
  const answer = await act(deps, c, event, via);
  await deps.store.txn({
    success: [
      deps.audit.entry(
        { name: `webhook (${check.header})`, tokenId: "" },
        "app.connect.hook",
        `${app} ${event.kind} ${delivery}`,
      ),
    ],
  });
  ctx.send(answer.status, { ok: true, app, event: event.kind, delivery, ...answer.body });
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function act(
  deps: ApiDeps,
  c: AppConnection,
  event: HookEvent,
  via: string,
): Promise<Answer> {
  switch (event.kind) {
    case "ping":
      return { status: 200, body: {} };
    case "other":
      return {
        status: 200,
        body: {
          ignored: `the ${event.name} event is not used: send push (and pull_request for review apps)`,
        },
      };
    case "pull_request":
      return pullRequestEvent(deps, c, event, via);
    case "push":
      return push(deps, c, event, via);
  }
}

function push(
  deps: ApiDeps,
  c: AppConnection,
  event: Extract<HookEvent, { kind: "push" }>,
  via: string,
): Answer {
  const branch = `refs/heads/${c.branch}`;
  if (event.ref !== branch)
    return {
      status: 200,
      body: { ignored: `${event.ref} is not the connected branch ${c.branch}` },
    };
  if (event.deleted)
    return { status: 200, body: { ignored: `${c.branch} was deleted: the running release stays` } };
  if (c.lastCommit === event.after)
    return { status: 200, body: { ignored: `${event.after.slice(0, 12)} was built already` } };
  void queueConnectedBuild(deps, { app: c.app, commit: event.after, via });
  return { status: 202, body: { queued: { branch: c.branch, commit: event.after } } };
}
