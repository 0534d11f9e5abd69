import { K } from "../model/keys.js";
import { LeaseNotFoundError, NO_LEASE, type KeyValue, type Store } from "../store/index.js";
import type { AuditLog } from "../audit/log.js";
import type { Principal } from "../model/principal.js";
import { HttpError } from "../errors.js";
import { sessionNotFound, type Sessions } from "./sessions.js";

/** Who holds a lock key: the session (when the key's lease is a session's) and its lease. */
export interface LockHolder {
  session?: string;
  lease: string;
  modRevision: number;
}

export type AcquireOutcome =
  | { acquired: true; revision: number }
  | { acquired: false; holder: LockHolder };

/** A write lost a race a few times in a row: say so rather than loop forever. */
const MAX_ATTEMPTS = 16;

/**
 * Consul-style locks on KV keys. A key is held when it is attached to a live lease; acquiring
 * writes it with the session's lease in a transaction that also checks the session still exists
 * and the key is unchanged since it was seen free, so two sessions can never both succeed. The
 * lease is what frees a dead holder's lock: when it expires the store deletes the key.
 */
export class Locks {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly sessions: Sessions,
  ) {}

  /** Take `key` for session `id` with `value` (or update it when the session holds it already). */
  async acquire(
    who: Principal,
    key: string,
    id: string,
    value: Uint8Array,
  ): Promise<AcquireOutcome> {
    const session = await this.sessions.require(id, "acquire");
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.store.get(key, { keysOnly: true });
      if (cur !== undefined && cur.lease !== NO_LEASE && cur.lease !== session.lease) {
        return { acquired: false, holder: await this.holder(cur) };
      }
      let res;
      try {
        res = await this.store.txn({
          compare: [
            { key: K.sessions + id, target: "lease", op: "==", value: session.lease },
            { key, target: "modRevision", op: "==", value: cur?.modRevision ?? 0 },
          ],
          success: [
            { type: "put", key, value, lease: session.lease },
            this.audit.entry(who, "kv.acquire", key.slice(K.kv.length)),
          ],
          failure: [{ type: "get", range: K.sessions + id, keysOnly: true }],
        });
      } catch (err) {
        // The lease expired between the check and the write.
        if (err instanceof LeaseNotFoundError) throw sessionNotFound(id, "acquire");
        throw err;
      }
      if (res.succeeded) return { acquired: true, revision: res.revision };
      const sessionGet = res.results[0];
      if (sessionGet?.type === "get" && sessionGet.kvs.length === 0)
        throw sessionNotFound(id, "acquire");
      // The key changed under us: look again.
    }
    throw contended(key);
  }

  /**
   * Free `key` if session `id` holds it: the key stays, unheld (no lease), with `value` when one
   * is given and its current value otherwise. Returns the revision.
   */
  async release(
    who: Principal,
    key: string,
    id: string,
    value: Uint8Array | undefined,
  ): Promise<number> {
    const session = await this.sessions.require(id, "release");
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.store.get(key);
      if (cur === undefined || cur.lease !== session.lease) {
        throw new NotHolderError(key, id, cur === undefined ? undefined : await this.holder(cur));
      }
      const res = await this.store.txn({
        compare: [
          { key, target: "modRevision", op: "==", value: cur.modRevision },
          { key, target: "lease", op: "==", value: session.lease },
        ],
        success: [
          { type: "put", key, value: value ?? cur.value },
          this.audit.entry(who, "kv.release", key.slice(K.kv.length)),
        ],
      });
      if (res.succeeded) return res.revision;
    }
    throw contended(key);
  }

  private async holder(kv: KeyValue): Promise<LockHolder> {
    const session = (await this.sessions.holders([kv])).get(kv.lease);
    return {
      ...(session === undefined ? {} : { session }),
      lease: kv.lease,
      modRevision: kv.modRevision,
    };
  }
}

/** `?release=` by a session that does not hold the key. */
export class NotHolderError extends HttpError {
  constructor(
    key: string,
    session: string,
    readonly holder: LockHolder | undefined,
  ) {
    const user = key.slice(K.kv.length);
    const held =
      holder === undefined || holder.lease === NO_LEASE
        ? "it is not held"
        : holder.session === undefined
          ? `it is bound to lease ${holder.lease}`
          : `it is held by session ${holder.session}`;
    super(409, "not_lock_holder", `session ${session} does not hold "${user}": ${held}`, "release");
  }
}

function contended(key: string): HttpError {
  return new HttpError(
    409,
    "conflict",
    `"${key.slice(K.kv.length)}" kept changing while acquiring or releasing it; try again`,
  );
}
