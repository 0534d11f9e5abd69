/**
 * The joining server's side of `gantry server --join URL --join-token T`: check the server at
 * URL against the CA the token pins, then ask it to add this server's etcd as a learner. What
 * comes back (the CA with its key, the config key, the cluster's members) is only ever sent over
 * HTTPS verified against the pinned CA. Writes nothing: start.ts keeps what it needs.
 */
import * as z from "zod";
import { GantryError, ValidationError } from "../errors.js";
import { parseJoinToken } from "../model/join-token.js";
import { apiError, fetchCa, postPinned } from "../client/pinned.js";

/** What the cluster gives a joining server. */
export interface JoinAnswer {
  clusterId: string;
  memberId: string;
  /** `name=peerUrl,…` of every member, the new one included: etcd's --initial-cluster. */
  initialCluster: string;
  /** Client URLs of the started members. */
  endpoints: string[];
  caCertPem: string;
  caKeyPem: string;
  /** DATA_DIR/secret.key's content (base64 of the config key). */
  secretKey: string;
}

export const JoinAnswerSchema = z.strictObject({
  clusterId: z.string(),
  memberId: z.string(),
  initialCluster: z.string(),
  endpoints: z.array(z.string()),
  caCertPem: z.string(),
  caKeyPem: z.string(),
  secretKey: z.string(),
});

/** A join refused before anything was sent: the token pins another cluster's CA. */
export class WrongClusterError extends GantryError {
  constructor(url: string, tokenHash: string, serverHash: string) {
    super(
      "wrong_cluster",
      `this join token belongs to another cluster (CA sha256 ${tokenHash.slice(0, 16)}…), not the one at ${url} (CA sha256 ${serverHash.slice(0, 16)}…): get a join token from that cluster (gantry join-tokens create --server)`,
      { status: 409 },
    );
  }
}

/**
 * Ask the cluster at `url` to take this server in. Errors keep the server's code
 * (`learner_pending`, `name_taken`, `join_refused` for an expired, revoked or used-up token,
 * `unauthorized`, `cluster_unhealthy`…) and message; `wrong_cluster` when the token pins
 * another CA; `invalid_argument` for a token or URL that is not one.
 */
export async function requestJoin(
  url: string,
  token: string,
  me: { name: string; peerUrl: string },
): Promise<JoinAnswer> {
  const parts = parseJoinToken(token);
  if (parts === undefined)
    throw new ValidationError(
      "--join-token is not a join token (K10<ca-hash>::<id>.<secret>; make one on a server of the cluster: gantry join-tokens create --server)",
      "--join-token",
    );
  if (!url.startsWith("https://"))
    throw new ValidationError(
      "--join needs the https:// address of a server of the cluster (joining pins its CA)",
      "--join",
    );
  const { caPem, hash } = await fetchCa(url);
  if (hash !== parts.caHash) throw new WrongClusterError(url, parts.caHash, hash);
  // Adding a member may wait for the cluster (up to ~10 s after a member went): a longer timeout.
  const res = await postPinned(
    url,
    "/v1/cluster/join",
    caPem,
    { id: parts.id, secret: parts.secret, name: me.name, peerUrl: me.peerUrl },
    30_000,
  );
  if (res.status !== 201) throw apiError(res);
  const answer = JoinAnswerSchema.safeParse(JSON.parse(res.body));
  if (!answer.success)
    throw new GantryError("unexpected", `${url} answered the join with something else`);
  return answer.data;
}
