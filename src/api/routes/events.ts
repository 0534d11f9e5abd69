import { ValidationError } from "../../errors.js";
import type { Policy } from "../../model/token.js";
import { forbidden, unauthorized } from "../errors.js";
import {
  TOPICS,
  changeOf,
  coalesce,
  isTopic,
  mayReadTopic,
  watchRange,
  type Change,
  type Topic,
} from "../events-topics.js";
import { answeredHead, resumeRevision, sseEvent, streamWatch } from "../sse.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { standingToken, tokenCheck } from "../ui-records.js";

/**
 * The topics asked for (`?topics=a,b`), each one the token may read; omitted or empty: every
 * topic it may read. 400 names an unknown topic, 403 one it may not read.
 */
export function askedTopics(text: string, policies: readonly Policy[]): Set<Topic> {
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (names.length === 0) {
    const all = TOPICS.filter((t) => mayReadTopic(policies, t));
    if (all.length === 0) throw forbidden("read any event topic");
    return new Set(all);
  }
  for (const n of names) {
    if (!isTopic(n))
      throw new ValidationError(`unknown topic "${n}"; topics are ${TOPICS.join(", ")}`, "topics");
    if (!mayReadTopic(policies, n)) throw forbidden(`read the ${n} topic`);
  }
  return new Set(names as Topic[]);
}

export function eventRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/events",
      summary:
        "Server-Sent Events for the dashboard: one `change` per store revision naming what changed ({topic, name, type}, never values) in ?topics=apps,nodes,…, from ?start=REV (or Last-Event-ID + 1)",
      handler: async (ctx) => {
        ctx.allowQuery("topics", "start");
        const { policies, tokenId } = ctx.who;
        // The token as it was when the stream opened: a stream outlives no revoke or rotation.
        const opened = deps.tokens.find(tokenId);
        const held = { tokenId, tokenCheck: opened === undefined ? "" : tokenCheck(opened) };
        const topics = askedTopics(ctx.query.getAll("topics").join(","), policies);
        const start = resumeRevision(ctx);
        if (answeredHead(ctx)) return;
        // Where the client stands first, then changes after it: nothing falls in between.
        const now = (await deps.store.status()).revision;
        // A revision from the future (a store that was replaced) waits for the next change.
        const from = start > 0 ? Math.min(start, now + 1) : now + 1;
        const watch = deps.store.watch(watchRange(topics), { startRevision: from });
        await streamWatch(ctx, deps.closing, {
          watch,
          ready: () => Promise.resolve(now),
          // EventSource resumes from the last id it saw: from here if no change came yet.
          readyId: from - 1,
          render: (revision, group) => {
            if (standingToken(deps.tokens.find(tokenId), held, Date.now()) === undefined)
              throw unauthorized("the token was revoked, rotated or has expired; log in again");
            const changes: Change[] = [];
            for (const e of group) {
              const c = changeOf(e.kv.key, e.type, e.kv.value, topics, policies);
              if (c !== undefined) changes.push(c);
            }
            if (changes.length === 0) return undefined;
            return sseEvent("change", { revision, changes: coalesce(changes) }, revision);
          },
        });
      },
    },
  ];
}
