import { ClientClosedError } from "etcd3";
import { ValidationError } from "../../errors.js";
import { TooLargeError, UnavailableError } from "../errors.js";

/**
 * How an error from etcd (or from gRPC on the way there) is to be treated:
 * - `not-sent`: the request surely did not take effect (no connection, etcd refused it before
 *   proposing it, the member has no leader): retrying it, on another member, is safe;
 * - `ambiguous`: the connection or the deadline went while the request was in flight; a read
 *   can be retried, a write may or may not have been applied;
 * - the rest are answers about the request itself.
 */
export type RpcErrorKind =
  | "not-sent"
  | "ambiguous"
  | "compacted"
  | "future-revision"
  | "lease-not-found"
  | "too-large"
  | "duplicate-key"
  | "no-space"
  | "closed"
  | "other";

export interface RpcError {
  kind: RpcErrorKind;
  /** gRPC status code, when there was one. */
  code: number | undefined;
  /** etcd's or gRPC's own words. */
  details: string;
  cause: unknown;
}

const GRPC_UNAVAILABLE = 14;
const GRPC_RESOURCE_EXHAUSTED = 8;
/** CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, ABORTED, INTERNAL, UNAVAILABLE. */
const AMBIGUOUS_CODES = new Set([1, 2, 4, 10, 13, 14]);

/**
 * etcd3 turns gRPC errors into its own classes that keep only the message, which reads
 * "<code> <NAME>: <details>"; errors from raw streams still carry `code` and `details`.
 */
function codeAndDetails(err: unknown): { code: number | undefined; details: string } {
  if (typeof err !== "object" || err === null) return { code: undefined, details: String(err) };
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof e.code === "number" && typeof e.details === "string") {
    return { code: e.code, details: e.details };
  }
  const message = typeof e.message === "string" ? e.message : String(err);
  const m = /^(\d+) [A-Z_]+: ([\s\S]*)$/.exec(message);
  return m === null
    ? { code: undefined, details: message }
    : { code: Number(m[1]), details: m[2]! };
}

/** Classify an error from an etcd call (see RpcErrorKind). */
export function classify(err: unknown): RpcError {
  const { code, details } = codeAndDetails(err);
  const r = (kind: RpcErrorKind): RpcError => ({ kind, code, details, cause: err });
  if (err instanceof ClientClosedError) return r("closed");
  if (details.includes("required revision has been compacted")) return r("compacted");
  if (details.includes("required revision is a future revision")) return r("future-revision");
  if (details.includes("requested lease not found")) return r("lease-not-found");
  if (details.includes("request is too large") || details.includes("too many operations in txn")) {
    return r("too-large");
  }
  // A request over etcd's gRPC receive limit never reaches etcd's own check.
  if (code === GRPC_RESOURCE_EXHAUSTED && details.includes("larger than max"))
    return r("too-large");
  if (details.includes("duplicate key given in txn request")) return r("duplicate-key");
  if (details.includes("database space exceeded")) return r("no-space");
  // Refused before being proposed: no leader (with the require-leader header), a member that
  // cannot take the request yet, or raft dropping a proposal during an election.
  if (
    details.includes("etcdserver: no leader") ||
    details.includes("raft proposal dropped") ||
    details.includes("etcdserver: not capable") ||
    // A learner (a joining server's member, until promoted) takes no clients' requests.
    details.includes("rpc not supported for learner") ||
    details.includes("etcdserver: too many requests")
  ) {
    return r("not-sent");
  }
  if (code === GRPC_UNAVAILABLE && !details.startsWith("etcdserver:")) {
    // grpc-js words for "there was no connection to send it on".
    if (
      /No connection established|ECONNREFUSED|failed to connect|Channel has been shut down|no ready/i.test(
        details,
      )
    ) {
      return r("not-sent");
    }
    return r("ambiguous");
  }
  // The deadline passed, the connection dropped mid-call, or etcd gave up waiting for the
  // proposal (leader changed, request timed out): the outcome is unknown.
  if (
    AMBIGUOUS_CODES.has(code ?? -1) ||
    /^etcdserver: .*(leader changed|timed out|stopped|cancel)/.test(details)
  ) {
    return r("ambiguous");
  }
  return r("other");
}

/**
 * The Gantry error for a classified failure that needs no further context: requests the
 * caller must change (too large, duplicate key) and the many ways of etcd being out of reach.
 * Answers that need context (compacted, future revision, lease) are mapped by the caller.
 */
export function toGantryError(e: RpcError, endpoint: string): Error {
  switch (e.kind) {
    case "too-large":
      return new TooLargeError(`etcd refused the request as too large: ${e.details}`);
    case "duplicate-key":
      return new ValidationError("a transaction may write each key only once", "txn");
    case "no-space":
      return new UnavailableError(
        `etcd at ${endpoint} is out of space (${e.details}); compact and defragment it`,
        e.cause,
      );
    case "closed":
      return new UnavailableError("the etcd store is closed", e.cause);
    case "not-sent":
    case "ambiguous":
      return new UnavailableError(`etcd at ${endpoint} is unavailable: ${e.details}`, e.cause);
    default:
      return e.cause instanceof Error ? e.cause : new Error(e.details);
  }
}
