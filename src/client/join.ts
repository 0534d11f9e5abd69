import { GantryError, ValidationError } from "../errors.js";
import { parseJoinToken, type JoinKind } from "../model/join-token.js";
import { apiError, fetchCa, postPinned } from "./pinned.js";

/** What joining gave the agent (or router): the cluster CA it checked and its own token. */
export interface Joined {
  caPem: string;
  tokenName: string;
  secret: string;
  labels: Record<string, string>;
}

/**
 * Join a cluster with a join token: fetch the server's CA without trusting it, refuse unless its
 * sha256 is the one the token pins, then (verifying the server against that CA alone) exchange
 * the token for a node token (a router token when `kind` is router). Nothing secret is sent
 * before the CA has been checked.
 */
export async function joinCluster(
  server: string,
  joinToken: string,
  name: string,
  kind: JoinKind = "node",
): Promise<Joined> {
  const parts = parseJoinToken(joinToken);
  if (parts === undefined)
    throw new ValidationError(
      "--join is not a join token (K10<ca-hash>::<id>.<secret>; see gantry join-tokens create)",
      "--join",
    );
  if (!server.startsWith("https://"))
    throw new ValidationError(
      "--join needs the server's https:// address (joining pins its CA)",
      "--server",
    );
  const { caPem, hash: got } = await fetchCa(server);
  if (got !== parts.caHash)
    throw new GantryError(
      "ca_mismatch",
      `the server's CA (sha256 ${got.slice(0, 16)}…) is not the one the join token pins (${parts.caHash.slice(0, 16)}…): refusing to connect; check --server, or get a join token from this cluster`,
    );
  const res = await postPinned(server, "/v1/join", caPem, {
    id: parts.id,
    secret: parts.secret,
    ...(kind === "router" ? { routerName: name } : { nodeName: name }),
  });
  if (res.status !== 201) throw apiError(res);
  const body = JSON.parse(res.body) as {
    name: string;
    secret: string;
    labels: Record<string, string>;
  };
  return { caPem, tokenName: body.name, secret: body.secret, labels: body.labels };
}
