import { encodeKey, type ApiKeyValue, type GantryClient } from "../client/client.js";
import { ApiError } from "../client/errors.js";
import type { ApiResponse } from "../client/transport.js";
import type { DepValue } from "./cache.js";
import type { Dependency, KeyEntry, ServiceInstance, ServiceSummary } from "./types.js";

export interface FetchOptions {
  /** Block until something changed after this index (Consul's ?index=). */
  index?: number;
  /** How long the server may block, e.g. "60s". */
  wait?: string;
  signal?: AbortSignal;
}

export interface FetchResult {
  value: DepValue;
  /** X-Gantry-Index of the answer; undefined when the server sent none (no blocking then). */
  index: number | undefined;
}

/** Loads one dependency from the API, optionally as a blocking read. */
export type Fetcher = (dep: Dependency, opts?: FetchOptions) => Promise<FetchResult>;

/** A Fetcher over the HTTP API. */
export function apiFetcher(client: GantryClient): Fetcher {
  return async (dep, opts = {}) => {
    const blocking = { index: opts.index, wait: opts.index === undefined ? undefined : opts.wait };
    const signal = opts.signal ? { signal: opts.signal } : {};
    switch (dep.type) {
      case "key":
      case "prefix": {
        // A single key's 404 carries no index to block on, so a key is read as a prefix and
        // picked out of it: a missing key can be waited for like any other change.
        const path = dep.type === "key" ? dep.key : dep.prefix;
        const res = await client.request("GET", `/v1/kv/${encodeKey(path)}`, {
          query: { recurse: true, ...blocking },
          ...signal,
        });
        const entries = ((await res.json()) as ApiKeyValue[]).map(
          (kv): KeyEntry => ({ key: kv.key, value: Buffer.from(kv.value, "base64").toString() }),
        );
        const value =
          dep.type === "key"
            ? entries.find((e) => e.key === dep.key)?.value
            : entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        return { value, index: indexOf(res) };
      }
      case "service": {
        try {
          const res = await client.request(
            "GET",
            `/v1/catalog/service/${encodeURIComponent(dep.name)}`,
            { query: { passing: true, ...blocking }, ...signal },
          );
          const list = (await res.json()) as Partial<ServiceInstance>[];
          return { value: list.map(toInstance).sort(byNodeThenId), index: indexOf(res) };
        } catch (err) {
          // An unknown service has no instances; a missing route is a real error.
          if (err instanceof ApiError && err.status === 404 && !/no route/.test(err.message))
            return { value: [], index: undefined };
          throw err;
        }
      }
      case "services": {
        const res = await client.request("GET", "/v1/catalog/services", {
          query: blocking,
          ...signal,
        });
        const list = (await res.json()) as { name: string; tags?: string[] }[];
        const value: ServiceSummary[] = list
          .map((s) => ({ name: s.name, tags: [...(s.tags ?? [])].sort() }))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        return { value, index: indexOf(res) };
      }
    }
  };
}

function indexOf(res: ApiResponse): number | undefined {
  const raw = res.headers.get("x-gantry-index");
  const n = raw === null ? NaN : Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

// A fixed shape and order (and no check details, which change on every check run) so that
// equal data compares equal and a template is not re-rendered for nothing.
function toInstance(s: Partial<ServiceInstance>): ServiceInstance {
  return {
    id: String(s.id ?? ""),
    service: String(s.service ?? ""),
    node: String(s.node ?? ""),
    address: String(s.address ?? ""),
    port: Number(s.port ?? 0),
    tags: [...(s.tags ?? [])],
    meta: { ...(s.meta ?? {}) },
    status: String(s.status ?? "passing"),
  };
}

function byNodeThenId(a: ServiceInstance, b: ServiceInstance): number {
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
