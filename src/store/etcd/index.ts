import { ValidationError } from "../../errors.js";
import type { Store } from "../types.js";
import { EtcdConnection } from "./connection.js";
import { EtcdStore } from "./store.js";

export interface EtcdStoreOptions {
  /** etcd client URLs ("http://127.0.0.1:2379") or HOST:PORT; several for a cluster. */
  endpoints: string[];
  /** How long opening waits for some endpoint to answer (default 5 s). */
  dialTimeoutMs?: number;
  /** How long one operation may take, retries on other members included (default 5 s). */
  requestTimeoutMs?: number;
  /** How long a watch keeps trying to reach etcd again before failing (default 60 s). */
  watchGiveUpMs?: number;
}

/** Open the Store on an etcd cluster; UnavailableError when no endpoint answers. */
export async function openEtcdStore(opts: EtcdStoreOptions): Promise<Store> {
  const endpoints = opts.endpoints;
  if (
    !Array.isArray(endpoints) ||
    endpoints.length === 0 ||
    endpoints.some((e) => typeof e !== "string" || e === "")
  ) {
    throw new ValidationError("endpoints must list at least one etcd URL", "endpoints");
  }
  const conn = new EtcdConnection({
    endpoints,
    dialTimeoutMs: opts.dialTimeoutMs ?? 5_000,
    requestTimeoutMs: opts.requestTimeoutMs ?? 5_000,
  });
  await conn.open();
  return new EtcdStore(conn, { watchGiveUpMs: opts.watchGiveUpMs });
}

export { EtcdStore } from "./store.js";
