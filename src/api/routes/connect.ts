import { randomBytes } from "node:crypto";
import { ValidationError, notFound } from "../../errors.js";
import { connectKey, deliveriesPrefix, readConnection } from "../../apps/connect-records.js";
import {
  ConnectAppSchema,
  connectionView,
  pollMs,
  type AppConnection,
  type ConnectAppAnswer,
} from "../../model/connect.js";
import { checkBranch, checkRemoteUrl, displayUrl, lsRemote } from "../../gitops/remote.js";
import type { Ctx } from "../context.js";
import {
  connectRemoteOptions,
  queueConnectedBuild,
  removeMirror,
  sealContext,
  secretBox,
} from "../connect-build.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { apiBase } from "./apps-common.js";
import { appFromPath } from "./builds.js";

/** Where the repo's host sends its events for `app`. */
export const webhookUrl = (ctx: Ctx, deps: ApiDeps, app: string): string =>
  `${apiBase(ctx, deps)}/v1/hooks/git/${app}`;

/**
 * An app's connection to an outside git repository (docs/delivery/connect.md): connect (answers
 * the webhook URL and its secret, the only time the secret is shown), read, disconnect.
 */
export function connectRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  return [
    {
      method: "POST",
      path: "/v1/apps/:app/connect",
      summary:
        "Connect the app to an outside git repo {repo, branch?, poll?}: pushes to the branch are built (webhook POST /v1/hooks/git/:app, and a poll) → the connection with {webhookUrl, secret} (the secret is never shown again)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = await appFromPath(ctx, store, "write");
        const body = await ctx.json(ConnectAppSchema);
        const opts = connectRemoteOptions();
        checkRemoteUrl(body.repo, { ...opts, field: "repo" });
        checkBranch(body.branch);
        const shown = displayUrl(body.repo);
        let head: string | undefined;
        try {
          head = await lsRemote(body.repo, body.branch, deps.closing, opts);
        } catch (err) {
          throw new ValidationError(`cannot read ${shown}: ${(err as Error).message}`, "repo");
        }
        if (head === undefined)
          throw new ValidationError(`${shown} has no branch "${body.branch}"`, "branch");
        const box = secretBox(deps);
        const secret = randomBytes(32).toString("hex");
        const before = (await readConnection(store, app))?.record;
        // Connecting again (a new secret, another poll) keeps what was built from the same branch.
        const same = before?.repo === shown && before.branch === body.branch;
        const record: AppConnection = {
          app,
          repo: shown,
          ...(shown === body.repo
            ? {}
            : { sealedRepo: box.encrypt(body.repo, sealContext(app, "repo")) }),
          branch: body.branch,
          secret: box.encrypt(secret, sealContext(app, "secret")),
          pollMs: pollMs(body.poll),
          ...(same && before.lastCommit !== undefined ? { lastCommit: before.lastCommit } : {}),
          ...(same && before.lastBuild !== undefined ? { lastBuild: before.lastBuild } : {}),
          ...(same && before.lastResult !== undefined ? { lastResult: before.lastResult } : {}),
          createdBy: ctx.who.name,
          createdAt: new Date().toISOString(),
        };
        await store.txn({
          success: [
            { type: "put", key: connectKey(app), value: JSON.stringify(record) },
            deps.audit.entry(ctx.who, "app.connect", `${app} ${shown} ${body.branch}`),
          ],
        });
        // The branch as it is now is built at once (not when the first push or poll comes).
        void queueConnectedBuild(deps, { app, commit: head, via: "connect" });
        const answer: ConnectAppAnswer = {
          ...connectionView(record, webhookUrl(ctx, deps, app)),
          secret,
          head,
        };
        ctx.send(201, answer);
      },
    },
    {
      method: "GET",
      path: "/v1/apps/:app/connect",
      summary:
        "The app's connection to an outside repo: repo, branch, poll, webhook URL, last commit built, last check, last error (never the secret)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = await appFromPath(ctx, store, "read");
        const stored = await readConnection(store, app);
        if (stored === undefined) throw notFound(`a connected repo of app "${app}"`);
        ctx.send(200, connectionView(stored.record, webhookUrl(ctx, deps, app)));
      },
    },
    {
      method: "DELETE",
      path: "/v1/apps/:app/connect",
      summary:
        "Disconnect the app from its outside repo: its webhook is refused from now on and nothing polls it (releases stay)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const app = await appFromPath(ctx, store, "write");
        const stored = await readConnection(store, app);
        if (stored === undefined) throw notFound(`a connected repo of app "${app}"`);
        await store.txn({
          success: [
            { type: "delete", range: connectKey(app) },
            { type: "delete", range: { prefix: deliveriesPrefix(app) } },
            deps.audit.entry(ctx.who, "app.disconnect", `${app} ${stored.record.repo}`),
          ],
        });
        removeMirror(deps, app);
        ctx.send(200, { app, disconnected: stored.record.repo });
      },
    },
  ];
}
