import { ValidationError } from "../../errors.js";
import { patchStackInfo } from "../../gitops/info.js";
import { readGitOps, SEALED, type Follow } from "../../gitops/records.js";
import { ConnectSchema, type ConnectAnswer } from "../../model/stack-source.js";
import {
  checkBranch,
  checkRemoteUrl,
  displayUrl,
  lsRemote,
  normalizeSubPath,
} from "../../gitops/remote.js";
import { durationMs, formatDuration } from "../../model/duration.js";
import { allows } from "../../model/token.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { apiBase } from "./apps-common.js";
import { bearer, gitopsOf } from "./stack-sync.js";

/**
 * Where the stack comes from: `PUT /v1/stack/source` follows an outside repo (stack:connect),
 * `DELETE` goes back to pushes to the hosted repo. The caller becomes the applier: its token
 * (stored sealed) applies the syncs that polling and the webhook start.
 */
export function stackSourceRoutes(deps: ApiDeps): RouteDef[] {
  const need = (ctx: Ctx): void => {
    if (!allows(ctx.who.policies, "stack", "source", "write"))
      throw forbidden("change where the stack comes from");
  };
  return [
    {
      method: "PUT",
      path: "/v1/stack/source",
      summary:
        "Follow an outside git repo {url, branch?, path?, interval?, secret?}: polled on the interval and synced at once on POST /v1/stack/webhook",
      handler: async (ctx) => {
        ctx.allowQuery();
        need(ctx);
        const service = gitopsOf(deps);
        const body = await ctx.json(ConnectSchema);
        checkRemoteUrl(body.url);
        checkBranch(body.branch);
        const path = normalizeSubPath(body.path);
        let head: string | undefined;
        try {
          head = await lsRemote(body.url, body.branch);
        } catch (err) {
          throw new ValidationError(
            `cannot read ${displayUrl(body.url)}: ${(err as Error).message}`,
            "url",
          );
        }
        if (head === undefined)
          throw new ValidationError(
            `${displayUrl(body.url)} has no branch "${body.branch}"`,
            "branch",
          );
        const shown = displayUrl(body.url);
        const follow: Follow = {
          url: shown,
          ...(shown === body.url ? {} : { sealedUrl: service.box.encrypt(body.url, SEALED.url) }),
          branch: body.branch,
          path,
          intervalMs: durationMs(body.interval),
          ...(body.secret === undefined
            ? {}
            : { secret: service.box.encrypt(body.secret, SEALED.secret) }),
        };
        const applier = { name: ctx.who.name, tokenId: ctx.who.tokenId, token: bearer(ctx) };
        await patchStackInfo(deps.store, { gitUrl: shown, branch: body.branch, path }, [
          await service.applierOp(applier, follow),
          deps.audit.entry(ctx.who, "stack.connect", shown),
        ]);
        const answer: ConnectAnswer = {
          url: shown,
          branch: body.branch,
          path,
          interval: formatDuration(follow.intervalMs),
          head,
          webhook: `${apiBase(ctx, deps)}/v1/stack/webhook`,
          webhookSecret: body.secret !== undefined,
        };
        ctx.send(200, answer);
      },
    },
    {
      method: "DELETE",
      path: "/v1/stack/source",
      summary:
        "Stop following an outside repo: the stack comes from pushes to the hosted repo again",
      handler: async (ctx) => {
        ctx.allowQuery();
        need(ctx);
        const service = gitopsOf(deps);
        const { record } = await readGitOps(deps.store);
        const was = record?.follow?.url;
        const applier = { name: ctx.who.name, tokenId: ctx.who.tokenId, token: bearer(ctx) };
        await patchStackInfo(deps.store, { gitUrl: null, branch: null, path: null }, [
          await service.applierOp(applier, null),
          deps.audit.entry(ctx.who, "stack.disconnect", was ?? ""),
        ]);
        ctx.send(200, { followed: was ?? null });
      },
    },
  ];
}
