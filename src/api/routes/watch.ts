import { ValidationError } from "../../errors.js";
import { CompactedError, type WatchEvent } from "../../store/index.js";
import { forbidden } from "../errors.js";
import { K } from "../../model/keys.js";
import { allows, canReadUnder } from "../../model/token.js";
import { pathKey, toApi } from "../kv-codec.js";
import type { ApiDeps, RouteDef } from "../server.js";

const HEARTBEAT_MS = 15_000;

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
        let start = ctx.int("start", 0);
        const lastId = ctx.req.headers["last-event-id"];
        if (typeof lastId === "string" && lastId !== "") {
          if (!/^\d{1,16}$/.test(lastId))
            throw new ValidationError("Last-Event-ID must be a revision", "Last-Event-ID");
          start = Number(lastId) + 1;
        }
        const { res } = ctx;
        const sse = {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          connection: "keep-alive",
          "x-accel-buffering": "no",
        };
        // HEAD gets the headers only: its body is discarded, so the stream would never flush them.
        if (ctx.method === "HEAD") return void res.writeHead(200, sse).end();
        const watch = deps.store.watch(
          recurse ? { prefix: key } : key,
          start > 0 ? { startRevision: start } : {},
        );
        res.writeHead(200, sse);
        const status = await deps.store.status();
        // Tell the client where it stands, so it can resume even if nothing changes.
        res.write(`event: ready\ndata: ${JSON.stringify({ revision: status.revision })}\n\n`);
        const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
        const stop = (): void => watch.cancel();
        ctx.req.on("close", stop);
        deps.closing.addEventListener("abort", stop);
        try {
          for await (const batch of watch) {
            // A batch may span several revisions (a replay from `start`): one SSE event per
            // revision, so that its id is exact and Last-Event-ID resumes without repeats.
            for (const [revision, group] of byRevision(batch)) {
              const events = group
                .filter((e) => allows(ctx.who.policies, "kv", e.kv.key.slice(K.kv.length), "read"))
                .map((e) => ({ type: e.type, ...toApi(e.kv) }));
              if (events.length === 0) continue;
              res.write(
                `id: ${revision}\nevent: kv\ndata: ${JSON.stringify({ revision, events })}\n\n`,
              );
            }
          }
        } catch (err) {
          const body =
            err instanceof CompactedError
              ? { code: err.code, message: err.message, compactRevision: err.compactRevision }
              : {
                  code: (err as { code?: string }).code ?? "internal",
                  message: err instanceof Error ? err.message : String(err),
                };
          res.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
        } finally {
          clearInterval(heartbeat);
          ctx.req.off("close", stop);
          deps.closing.removeEventListener("abort", stop);
          res.end();
        }
      },
    },
  ];
}

/** Events grouped by revision, in order. */
function byRevision(batch: WatchEvent[]): Map<number, WatchEvent[]> {
  const out = new Map<number, WatchEvent[]>();
  for (const e of batch) {
    const group = out.get(e.kv.modRevision);
    if (group === undefined) out.set(e.kv.modRevision, [e]);
    else group.push(e);
  }
  return out;
}
