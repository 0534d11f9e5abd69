/**
 * Talking to a server that a join token pins: its CA fetched without trust and checked against
 * the token's hash by the caller, then requests over HTTPS verified against that CA alone. Used
 * by agents and routers (src/client/join.ts) and servers (src/cluster/join.ts) when they join.
 */
import { request } from "node:https";
import { GantryError } from "../errors.js";
import { caHash } from "../tls/ca.js";
import { ApiError, ConnectError } from "./errors.js";

export interface Answer {
  status: number;
  body: string;
}

/**
 * The server's CA certificate (PEM) and its sha256, fetched without verifying the server: the
 * caller must compare the hash with the join token's before trusting it with anything.
 */
export async function fetchCa(server: string): Promise<{ caPem: string; hash: string }> {
  const ca = await call(server, "GET", "/v1/ca", { rejectUnauthorized: false });
  if (ca.status !== 200) throw apiError(ca);
  try {
    return { caPem: ca.body, hash: caHash(ca.body) };
  } catch {
    throw new GantryError(
      "ca_mismatch",
      `${server} did not answer with a CA certificate: refusing to join`,
    );
  }
}

/** POST a JSON body over HTTPS, verifying the server against `caPem` alone. */
export function postPinned(
  server: string,
  path: string,
  caPem: string,
  body: unknown,
  timeoutMs?: number,
): Promise<Answer> {
  return call(server, "POST", path, { ca: caPem }, JSON.stringify(body), timeoutMs);
}

function call(
  server: string,
  method: string,
  path: string,
  tls: { rejectUnauthorized?: boolean; ca?: string },
  body?: string,
  timeoutMs = 15_000,
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
        timeout: timeoutMs,
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

/** The API's error answer as an ApiError (its code and message), or a generic one. */
export function apiError(a: Answer): ApiError {
  try {
    const e = (JSON.parse(a.body) as { error: { code: string; message: string } }).error;
    return new ApiError(a.status, e.code, e.message);
  } catch {
    return new ApiError(a.status, "unexpected", `the server answered HTTP ${a.status}`);
  }
}
