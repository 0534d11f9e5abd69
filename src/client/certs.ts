import type { CertBundle } from "../model/cert-bundle.js";
import type { BlockingOptions, Indexed } from "./catalog.js";
import type { GantryClient } from "./client.js";

/** The certificates with their keys (`GET /v1/certs/bundle`, cert read); with `index`, a blocking read. */
export async function readCertBundle(
  client: GantryClient,
  opts: BlockingOptions = {},
): Promise<Indexed<CertBundle>> {
  const res = await client.request("GET", "/v1/certs/bundle", {
    query: { index: opts.index, wait: opts.index === undefined ? undefined : opts.wait },
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return {
    index: Number(res.headers.get("x-gantry-index") ?? 0),
    value: (await res.json()) as CertBundle,
  };
}
