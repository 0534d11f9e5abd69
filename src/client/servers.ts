/**
 * The servers a client knows, and when to move to the next one (docs/ha.md, "Failover"): a
 * request that got no answer at all — refused, reset before any byte, timed out — moves the
 * client on; the request is sent again there only when that is safe: it never left (the
 * connection was never made), or its method is idempotent. Pure: the client (client.ts) does
 * the I/O.
 */

/** The code the node transport gives a connection not made within its connect timeout. */
export const CONNECT_TIMEOUT = "GANTRY_CONNECT_TIMEOUT";

/** How a request went unanswered: never sent (no connection), or perhaps sent. */
export type NoAnswer = "unsent" | "maybe-sent";

/** Error codes of a connection that was never made: nothing was sent. */
const UNSENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  CONNECT_TIMEOUT,
]);

/** Error codes of a connection that broke before an answer: the request may have been sent. */
const MAYBE_SENT = new Set([
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

/**
 * Whether `err` (a transport's rejection) means the server gave no answer, and whether the
 * request may have been sent. Undefined for anything else (a certificate refused, an answer
 * cut short after it began): those are not the server being away.
 */
export function noAnswer(err: unknown): NoAnswer | undefined {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    depth < 4;
    depth++
  ) {
    if (e === undefined || e === null || typeof e !== "object") return undefined;
    const code = typeof e.code === "string" ? e.code : "";
    if (UNSENT.has(code)) return "unsent";
    if (MAYBE_SENT.has(code)) return "maybe-sent";
    // fetch wraps the socket's error in its own ("fetch failed"); so do AggregateErrors.
    const inner = (e as { errors?: unknown[] }).errors?.[0] ?? e.cause;
    e = inner as typeof e;
  }
  return undefined;
}

/** Methods safe to send twice (RFC 9110 §9.2.2), as the router also retries them. */
export function idempotentMethod(method: string): boolean {
  return ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"].includes(method.toUpperCase());
}

/** Whether a request that got no answer may be sent again to the next server. */
export function mayResend(method: string, how: NoAnswer): boolean {
  return how === "unsent" || idempotentMethod(method);
}

/**
 * `--server URL[,URL…]` or `GANTRY_ADDR=URL,URL`: each trimmed, without trailing slashes,
 * duplicates dropped, in the order given.
 */
export function parseServerList(raw: string | readonly string[]): string[] {
  const parts = typeof raw === "string" ? raw.split(",") : raw.flatMap((r) => r.split(","));
  const out: string[] = [];
  for (const p of parts) {
    const addr = p.trim().replace(/\/+$/, "");
    if (addr !== "" && !out.includes(addr)) out.push(addr);
  }
  return out;
}

/**
 * The servers a client knows and the one it talks to now. It stays on a server while it
 * answers; one that gives no answer hands over to the next in the list (round the end).
 */
export class ServerList {
  private readonly list: string[];
  private at = 0;

  constructor(addrs: readonly string[]) {
    this.list = parseServerList(addrs);
    if (this.list.length === 0) throw new Error("a client needs at least one server address");
  }

  get current(): string {
    return this.list[this.at]!;
  }

  get all(): readonly string[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  /**
   * `addr` gave no answer: move on to the one after it. When another request already moved
   * on from it (the current one is another), the current one stays.
   */
  failed(addr: string): void {
    if (this.list[this.at] !== addr) return;
    this.at = (this.at + 1) % this.list.length;
  }

  /** Addresses learned from the cluster (GET /v1/cluster/servers) join the end of the list. */
  learn(addrs: readonly string[]): string[] {
    const added: string[] = [];
    for (const a of parseServerList(addrs))
      if (!this.list.includes(a)) {
        this.list.push(a);
        added.push(a);
      }
    return added;
  }
}

/** How much longer than its `wait` a blocking read may take before its server counts as gone. */
export const BLOCKING_MARGIN_MS = 10_000;

/**
 * Why a request failed without an answer: aborted by its caller, or no answer from the server
 * (a deadline of ours that passed counts as one, perhaps sent); undefined for other failures.
 */
export function unanswered(
  err: unknown,
  callers: AbortSignal | undefined,
  ours: AbortSignal | undefined,
): NoAnswer | "aborted" | undefined {
  const name = (err as { name?: string }).name;
  if (name === "AbortError" || name === "TimeoutError") {
    if (callers?.aborted === true && !timedOut(callers)) return "aborted";
    return ours?.aborted === true ? "maybe-sent" : "aborted";
  }
  return noAnswer(err);
}

/** A caller's AbortSignal.timeout() that passed: the server did not answer in time. */
const timedOut = (signal: AbortSignal): boolean =>
  (signal.reason as { name?: string } | undefined)?.name === "TimeoutError";

export function noAnswerIn(signal: AbortSignal): Error {
  return Object.assign(new Error("no answer in time"), { cause: signal.reason as unknown });
}
