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

/**
 * Whether the token a stream was opened with still stands: not revoked, not rotated (same
 * secret), not expired. A stream outlives no token: it ends, and reconnecting is refused.
 */
export function tokenStands(
  tokens: ApiDeps["tokens"],
  id: string,
  secretHash: string | undefined,
  now = Date.now(),
): boolean {
  const rec = tokens.find(id);
  if (rec === undefined || rec.id !== id || rec.secretHash !== secretHash) return false;
  return rec.expiresAt === undefined || Date.parse(rec.expiresAt) > now;
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
        const secretHash = deps.tokens.find(tokenId)?.secretHash;
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
            if (!tokenStands(deps.tokens, tokenId, secretHash))
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
