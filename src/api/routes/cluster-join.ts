import { readFileSync } from "node:fs";
import type { TLSSocket } from "node:tls";
import * as z from "zod";
import { loadOrCreateKey } from "../../apps/secrets.js";
import { admitLearner } from "../../cluster/admit.js";
import { initialCluster } from "../../cluster/join-plan.js";
import type { JoinAnswer } from "../../cluster/join.js";
import { HttpError } from "../../errors.js";
import {
  LEARNERS_PREFIX,
  LearnerRecordSchema,
  learnerKey,
  type LearnerRecord,
} from "../../model/learner.js";
import { NodeNameSchema } from "../../model/node.js";
import type { Store } from "../../store/index.js";
import { text } from "../../store/values.js";
import { caFiles } from "../../tls/ca.js";
import { JoinTokens } from "../join-tokens.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { clusterCa, refuseThrottledJoin } from "./join-tokens.js";

const Join = z.strictObject({
  id: z.string().max(16),
  secret: z.string().max(256),
  name: NodeNameSchema,
  peerUrl: z
    .string()
    .max(256)
    .regex(
      /^https?:\/\/[^/\s?#]+:\d{1,5}$/,
      "must be etcd's peer URL, http://HOST:PORT (from --etcd-peer-addr)",
    ),
});

async function learnerRecords(store: Store): Promise<Map<string, LearnerRecord>> {
  const r = await store.range({ prefix: LEARNERS_PREFIX });
  return new Map(
    r.kvs.map((kv) => [
      kv.key.slice(LEARNERS_PREFIX.length),
      LearnerRecordSchema.parse(JSON.parse(text(kv.value))),
    ]),
  );
}

/** One join at a time per server (etcd takes one learner at a time anyway). */
let queue: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(f: () => Promise<T>): Promise<T> {
  const run = queue.then(f, f);
  queue = run.catch(() => undefined);
  return run;
}

/**
 * `POST /v1/cluster/join`: a server joins the cluster's etcd as a learner, authenticated by a
 * server join token alone. The answer carries the CA's key and the config key, so it is only
 * given over HTTPS (the joiner pinned the CA by its token's hash).
 */
export function clusterJoinRoutes(deps: ApiDeps): RouteDef[] {
  const joins = new JoinTokens(deps.store);
  return [
    {
      method: "POST",
      path: "/v1/cluster/join",
      summary:
        "A server joins the control plane's etcd cluster {id, secret, name, peerUrl} with a server join token: its etcd is added as a learner; the answer has the initial cluster, the CA (with key) and the config key. HTTPS only; authenticated by the join token alone",
      public: true,
      handler: async (ctx) => {
        ctx.allowQuery();
        const address = refuseThrottledJoin(ctx, deps);
        const body = await ctx.json(Join);
        if ((ctx.req.socket as Partial<TLSSocket>).encrypted !== true)
          throw new HttpError(
            409,
            "no_tls",
            "servers join over HTTPS only (the answer carries the cluster CA's key): this server's API is plain HTTP",
          );
        const checked = await joins.check(body.id, body.secret, "server");
        if ("bad" in checked) {
          deps.tokens.failures.fail(address);
          throw new HttpError(
            401,
            "unauthorized",
            "the join token is not valid (unknown id or wrong secret)",
          );
        }
        if ("refused" in checked) throw new HttpError(403, "join_refused", checked.refused);
        const cluster = deps.cluster;
        if (cluster === undefined || deps.dataDir === undefined)
          throw new HttpError(
            409,
            "not_clustered",
            "this server does not run its own etcd: servers join a cluster started with gantry server --cluster-init",
          );
        const caCertPem = clusterCa(deps);
        const caKeyPem = readFileSync(caFiles(deps.dataDir).key, "utf8");
        const secretKey = loadOrCreateKey(deps.dataDir).toString("base64");
        const answer = await oneAtATime(async (): Promise<JoinAnswer> => {
          const learners = await learnerRecords(deps.store);
          const joiner = { name: body.name, peerUrl: body.peerUrl };
          const added = await admitLearner(cluster.membership, learners, joiner);
          const record: LearnerRecord = { ...joiner, addedAt: new Date().toISOString() };
          const by = { name: `join-token:${body.id}`, tokenId: `join:${body.id}` };
          const replaced = added.removed.map((r) => r.member.name || r.member.id);
          const used = await joins.redeem(
            body.id,
            body.secret,
            () => [
              { type: "put", key: learnerKey(added.member.id), value: JSON.stringify(record) },
              // Records of learners that are members no more (removed now or before).
              ...[...learners.keys()]
                .filter((id) => !added.members.some((m) => m.id === id))
                .map((id) => ({ type: "delete" as const, range: learnerKey(id) })),
              deps.audit.entry(
                by,
                "server.join",
                `${body.name} (member ${added.member.id}${replaced.length > 0 ? `; removed ${replaced.join(", ")}` : ""})`,
              ),
            ],
            "server",
          );
          if (!("ok" in used)) {
            // Taken meanwhile (used up, revoked): the learner goes again.
            await cluster.membership.remove(added.member.id).catch(() => undefined);
            throw "refused" in used
              ? new HttpError(403, "join_refused", used.refused)
              : new HttpError(401, "unauthorized", "the join token is not valid");
          }
          return {
            clusterId: added.clusterId,
            memberId: added.member.id,
            initialCluster: initialCluster(added.members, added.member.id, body.name),
            endpoints: added.members.flatMap((m) => m.clientUrls),
            caCertPem,
            caKeyPem,
            secretKey,
          };
        });
        ctx.send(201, answer);
      },
    },
  ];
}
