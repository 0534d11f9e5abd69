import type { GantryClient } from "./client.js";
import { ApiError } from "./errors.js";

/**
 * The key authorization of an ACME HTTP-01 challenge (`GET /v1/acme/http01/:token`), undefined
 * when the server has none: what a router answers `/.well-known/acme-challenge/<token>` with.
 */
export async function acmeChallenge(
  client: GantryClient,
  token: string,
): Promise<string | undefined> {
  try {
    const res = await client.json<{ keyAuthorization: string }>(
      "GET",
      `/v1/acme/http01/${encodeURIComponent(token)}`,
    );
    return res.keyAuthorization;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}
