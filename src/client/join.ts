import { request } from "node:https";
import { GantryError, ValidationError } from "../errors.js";
import { parseJoinToken, type JoinKind } from "../model/join-token.js";
import { caHash } from "../tls/ca.js";
import { ApiError, ConnectError } from "./errors.js";

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
  const ca = await call(server, "GET", "/v1/ca", { rejectUnauthorized: false });
  if (ca.status !== 200) throw await apiError(ca);
  const caPem = ca.body;
  let got: string;
  try {
    got = caHash(caPem);
  } catch {
    throw new GantryError(
      "ca_mismatch",
      `${server} did not answer with a CA certificate: refusing to join`,
    );
  }
  if (got !== parts.caHash)
    throw new GantryError(
      "ca_mismatch",
      `the server's CA (sha256 ${got.slice(0, 16)}…) is not the one the join token pins (${parts.caHash.slice(0, 16)}…): refusing to connect; check --server, or get a join token from this cluster`,
    );
  const res = await call(
    server,
    "POST",
    "/v1/join",
    { ca: caPem },
    JSON.stringify({
      id: parts.id,
      secret: parts.secret,
      ...(kind === "router" ? { routerName: name } : { nodeName: name }),
    }),
  );
  if (res.status !== 201) throw await apiError(res);
  const body = JSON.parse(res.body) as {
    name: string;
    secret: string;
    labels: Record<string, string>;
  };
  return { caPem, tokenName: body.name, secret: body.secret, labels: body.labels };
}

interface Answer {
  status: number;
  body: string;
}

function call(
  server: string,
  method: string,
  path: string,
  tls: { rejectUnauthorized?: boolean; ca?: string },
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server),
      {
        method,
        agent: false,
        ...tls,
        headers:
          body === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: 15_000,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", (err) => reject(new ConnectError(server, err)));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (err) => reject(new ConnectError(server, err)));
    req.end(body);
  });
}

async function apiError(a: Answer): Promise<ApiError> {
  try {
    const e = (JSON.parse(a.body) as { error: { code: string; message: string } }).error;
    return new ApiError(a.status, e.code, e.message);
  } catch {
    return new ApiError(a.status, "unexpected", `the server answered HTTP ${a.status}`);
  }
}
