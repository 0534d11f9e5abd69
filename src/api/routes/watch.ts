import { K } from "../../model/keys.js";
import { allows, canReadUnder } from "../../model/token.js";
import { forbidden } from "../errors.js";
import { pathKey, toApi } from "../kv-codec.js";
import { answeredHead, resumeRevision, sseEvent, streamWatch } from "../sse.js";
import type { ApiDeps, RouteDef } from "../server.js";

export function watchRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/watch/kv/*key",
      summary:
        "Stream changes to a key, or a prefix with ?recurse, as Server-Sent Events from ?start=REV (or Last-Event-ID + 1)",
      handler: async (ctx) => {
        ctx.allowQuery("recurse", "start");
        const recurse = ctx.flag("recurse");
        const key = pathKey(ctx.params["key"], recurse);
        const user = key.slice(K.kv.length);
        const readable = recurse
          ? canReadUnder(ctx.who.policies, user)
          : allows(ctx.who.policies, "kv", user, "read");
        if (!readable) throw forbidden(`watch kv "${user}"`);
        const start = resumeRevision(ctx);
        if (answeredHead(ctx)) return;
        const watch = deps.store.watch(
          recurse ? { prefix: key } : key,
          start > 0 ? { startRevision: start } : {},
        );
        await streamWatch(ctx, deps.closing, {
          watch,
          // Tell the client where it stands, so it can resume even if nothing changes.
          ready: async () => (await deps.store.status()).revision,
          render: (revision, group) => {
            const events = group
              .filter((e) => allows(ctx.who.policies, "kv", e.kv.key.slice(K.kv.length), "read"))
              .map((e) => ({ type: e.type, ...toApi(e.kv) }));
            return events.length === 0 ? undefined : sseEvent("kv", { revision, events }, revision);
          },
        });
      },
    },
  ];
}
