import { ValidationError } from "../errors.js";
import type { Store } from "./types.js";

export * from "./types.js";
export * from "./errors.js";
export { getJson, putJson, parseJson, text } from "./values.js";

/**
 * Open a store from a location:
 * - `etcd://HOST:PORT[,HOST:PORT…]` — a real etcd cluster;
 * - `sqlite:DIR` or a plain directory path — the embedded store in DIR.
 */
export async function openStore(location: string): Promise<Store> {
  if (location.startsWith("etcd://")) {
    const endpoints = parseEtcdEndpoints(location);
    const { openEtcdStore } = await import("./etcd/index.js");
    return openEtcdStore({ endpoints });
  }
  const dir = location.startsWith("sqlite:") ? location.slice("sqlite:".length) : location;
  if (dir === "") throw new ValidationError("the store location needs a directory", "store");
  const { openSqliteStore } = await import("./sqlite/index.js");
  return openSqliteStore({ dir });
}

/** `etcd://a:2379,b:2379` → ["http://a:2379", "http://b:2379"], naming the bad part when invalid. */
export function parseEtcdEndpoints(location: string): string[] {
  const list = location.slice("etcd://".length);
  const endpoints = list.split(",").map((hostPort) => {
    const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(hostPort.trim());
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ValidationError(`"${hostPort}" is not HOST:PORT in ${location}`, "store");
    }
    return `http://${m[1]}:${m[2]}`;
  });
  return endpoints;
}
