import type { DataSource, KeyEntry, ServiceInstance, ServiceSummary } from "./types.js";

/** Data held in memory: for tests, and for rendering without a server. */
export interface MemoryData {
  kv?: Record<string, string>;
  /** Passing instances by service name. */
  services?: Record<string, ServiceInstance[]>;
}

/** A DataSource over plain objects; everything is always loaded. */
export function memorySource(data: MemoryData): DataSource {
  const kv = data.kv ?? {};
  const services = data.services ?? {};
  return {
    key: (k) => (Object.hasOwn(kv, k) ? kv[k] : undefined),
    tree: (prefix): KeyEntry[] =>
      Object.keys(kv)
        .filter((k) => k.startsWith(prefix))
        .sort()
        .map((k) => ({ key: k, value: kv[k]! })),
    service: (name) => services[name] ?? [],
    services: (): ServiceSummary[] =>
      Object.keys(services)
        .sort()
        .map((name) => ({
          name,
          tags: [...new Set(services[name]!.flatMap((s) => s.tags))].sort(),
        })),
  };
}
