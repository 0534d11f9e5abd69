import type { ServerResponse } from "node:http";
import type { Store } from "../store/index.js";

/** On an answer read from a store without quorum: it may be out of date. */
export const STALE_HEADER = "x-gantry-stale";

type WriteHead = (this: ServerResponse, ...args: unknown[]) => ServerResponse;

/**
 * Mark a read's answer `X-Gantry-Stale: true` when the store may have served it without
 * quorum (Store.degraded): the store was degraded when the request came in, or is when the
 * answer starts. GET and HEAD answers below 500 only: a 404 read from a member that is
 * behind is as stale as a 200; writes fail with no_quorum instead.
 */
export function markStaleReads(method: string, res: ServerResponse, store: Store): void {
  if (method !== "GET" && method !== "HEAD") return;
  const atStart = store.degraded !== undefined;
  const writeHead = res.writeHead as unknown as WriteHead;
  const marked: WriteHead = function (...args) {
    const status = Number(args[0]);
    if ((atStart || store.degraded !== undefined) && status < 500 && !this.headersSent)
      this.setHeader(STALE_HEADER, "true");
    return writeHead.apply(this, args);
  };
  res.writeHead = marked as unknown as ServerResponse["writeHead"];
}
