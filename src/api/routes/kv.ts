import { ValidationError, notFound, HttpError } from "../../errors.js";
import { TooLargeError } from "../../store/errors.js";
import { MAX_VALUE_BYTES } from "../../store/limits.js";
import { allows, allowsPrefix, canReadUnder } from "../../model/token.js";
import type { KeyValue, Store, TxnOp } from "../../store/index.js";
import { K } from "../../model/keys.js";
import { forbidden } from "../errors.js";
import { pathKey, toApi } from "../kv-codec.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { waitForChange } from "../../store/wait-for-change.js";
import { parseWait } from "../blocking.js";
import type { Ctx } from "../context.js";
import { requestSignal } from "../path-params.js";
import { Locks, NotHolderError } from "../locks.js";
import { Sessions } from "../sessions.js";
import { SessionIdSchema } from "../../model/session.js";
import { WriteBatcher } from "../write-batch.js";

const stripped = (storeKey: string): string => storeKey.slice(K.kv.length);

export function kvRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  const sessions = new Sessions(store, deps.audit);
  const locks = new Locks(store, deps.audit, sessions);
  const batcher = new WriteBatcher(store);
  return [
    {
      method: "GET",
      path: "/v1/kv/*key",
      summary:
        "Read a key, or a prefix with ?recurse (?keys for keys only, ?raw for the bare value, ?index&wait to block)",
      handler: async (ctx) => {
        ctx.allowQuery("recurse", "keys", "raw", "index", "wait", "revision");
        const recurse = ctx.flag("recurse") || ctx.flag("keys");
        const key = pathKey(ctx.params["key"], recurse);
        const user = stripped(key);
        if (
          recurse
            ? !canReadUnder(ctx.who.policies, user)
            : !allows(ctx.who.policies, "kv", user, "read")
        ) {
          throw forbidden(`read kv "${user}"`);
        }
        const range = recurse ? { prefix: key } : key;
        const index = ctx.query.has("index") ? ctx.int("index", 0) : undefined;
        if (index !== undefined)
          // Stop waiting when the client goes away, not only when the server stops.
          await waitForChange(
            store,
            range,
            index,
            parseWait(ctx.query.get("wait")),
            requestSignal(ctx, deps.closing),
          );
        const revision = ctx.int("revision", 0);
        const res = await store.range(range, {
          keysOnly: ctx.flag("keys"),
          ...(revision > 0 ? { revision } : {}),
        });
        const headers = { "x-gantry-index": String(res.revision) };
        if (!recurse) {
          const kv = res.kvs[0];
          if (kv === undefined) throw notFound(`key "${user}"`);
          if (ctx.flag("raw"))
            return ctx.sendRaw(200, kv.value, "application/octet-stream", headers);
          return ctx.send(200, withHolder(toApi(kv), await sessions.holders([kv])), headers);
        }
        const visible = res.kvs.filter((kv) =>
          allows(ctx.who.policies, "kv", stripped(kv.key), "read"),
        );
        if (ctx.flag("keys"))
          return ctx.send(
            200,
            visible.map((kv) => stripped(kv.key)),
            headers,
          );
        const holders = await sessions.holders(visible);
        ctx.send(
          200,
          visible.map((kv) => withHolder(toApi(kv), holders)),
          headers,
        );
      },
    },
    {
      method: "PUT",
      path: "/v1/kv/*key",
      summary:
        "Write a key; the body is the value. ?cas=MODREV (0 = only if absent), ?lease=ID, ?acquire=SESSION or ?release=SESSION (locks)",
      handler: async (ctx) => {
        ctx.allowQuery("cas", "lease", "acquire", "release");
        const key = pathKey(ctx.params["key"]);
        const user = stripped(key);
        if (!allows(ctx.who.policies, "kv", user, "write")) throw forbidden(`write kv "${user}"`);
        const lock = lockParams(ctx.query);
        const value = await ctx.body();
        if (value.length > MAX_VALUE_BYTES) {
          throw new TooLargeError(
            `the value is ${value.length} bytes; the limit is ${MAX_VALUE_BYTES}`,
            "body",
          );
        }
        if (lock !== undefined) return lockWrite(ctx, locks, key, lock, value);
        const cas = ctx.query.has("cas") ? ctx.int("cas", 0) : undefined;
        const lease = ctx.query.get("lease") ?? undefined;
        if (lease !== undefined && !/^[0-9]{1,20}$/.test(lease))
          throw new ValidationError("lease must be a lease id", "lease");
        const put: TxnOp = { type: "put", key, value, ...(lease === undefined ? {} : { lease }) };
        const ops = [put, deps.audit.entry(ctx.who, "kv.put", user)];
        // A put with a lease can fail on its own (lease not found): it goes alone.
        const res =
          cas === undefined && lease === undefined
            ? await batcher.write(key, ops)
            : await casWrite(store, key, cas, ops);
        ctx.send(200, { ok: true, revision: res }, { "x-gantry-index": String(res) });
      },
    },
    {
      method: "DELETE",
      path: "/v1/kv/*key",
      summary: "Delete a key, or a prefix with ?recurse. ?cas=MODREV",
      handler: async (ctx) => {
        ctx.allowQuery("recurse", "cas");
        const recurse = ctx.flag("recurse");
        const key = pathKey(ctx.params["key"], recurse);
        const user = stripped(key);
        const permitted = recurse
          ? allowsPrefix(ctx.who.policies, "kv", user, "write")
          : allows(ctx.who.policies, "kv", user, "write");
        if (!permitted) throw forbidden(`delete kv "${user}"`);
        const cas = ctx.query.has("cas") ? ctx.int("cas", 0) : undefined;
        if (cas !== undefined && recurse)
          throw new ValidationError("cas applies to one key, not with recurse", "cas");
        const range = recurse ? { prefix: key } : key;
        const ops: TxnOp[] = [
          { type: "delete", range },
          deps.audit.entry(ctx.who, recurse ? "kv.delete-prefix" : "kv.delete", user),
        ];
        const res =
          cas === undefined && !recurse
            ? await batcher.write(key, ops)
            : await casWrite(store, key, cas, ops);
        ctx.send(200, { ok: true, revision: res }, { "x-gantry-index": String(res) });
      },
    },
  ];
}

/** Run write ops in one transaction, guarded by `cas` (the key's modRevision; 0 = absent). */
async function casWrite(
  store: Store,
  key: string,
  cas: number | undefined,
  ops: TxnOp[],
): Promise<number> {
  // Without cas nothing can fail: no compare, no failure branch to encode and send.
  const res = await store.txn(
    cas === undefined
      ? { compare: [], success: ops }
      : {
          compare: [{ key, target: "modRevision", op: "==", value: cas }],
          success: ops,
          failure: [{ type: "get", range: key, keysOnly: true }],
        },
  );
  if (!res.succeeded) {
    const current = res.results[0];
    const kv: KeyValue | undefined = current?.type === "get" ? current.kvs[0] : undefined;
    throw casFailed(cas!, kv?.modRevision ?? 0);
  }
  return res.revision;
}

function casFailed(expected: number, actual: number): HttpError {
  const message =
    actual === 0
      ? `cas failed: expected modRevision ${expected}, but the key does not exist`
      : `cas failed: expected modRevision ${expected}, but it is ${actual}`;
  return new HttpError(409, "cas_failed", message, "cas");
}

type LockParam = { op: "acquire" | "release"; session: string };

/** `?acquire=SESSION` or `?release=SESSION` (not both, and not with cas or lease). */
function lockParams(query: URLSearchParams): LockParam | undefined {
  const acquire = query.get("acquire");
  const release = query.get("release");
  if (acquire === null && release === null) return undefined;
  if (acquire !== null && release !== null)
    throw new ValidationError("give acquire or release, not both", "release");
  const op = acquire !== null ? "acquire" : "release";
  const session = (acquire ?? release)!;
  if (!SessionIdSchema.safeParse(session).success)
    throw new ValidationError(`${op} must be a session id (a UUID)`, op);
  for (const other of ["cas", "lease"]) {
    if (query.has(other))
      throw new ValidationError(
        `${other} cannot be combined with ${op}: the key is bound to the session's lease`,
        other,
      );
  }
  return { op, session };
}

/**
 * Acquire answers 200 `{ok: true, acquired: true}` or 409 `{ok: false, acquired: false, error:
 * {code: "lock_held"}, holder}`; release answers 200 `{ok: true, released: true}` or 409
 * `not_lock_holder`. A 409 (like a failed cas) lets scripts use the status alone.
 */
async function lockWrite(
  ctx: Ctx,
  locks: Locks,
  key: string,
  lock: LockParam,
  value: Buffer,
): Promise<void> {
  const user = stripped(key);
  if (lock.op === "acquire") {
    const res = await locks.acquire(ctx.who, key, lock.session, value);
    if (res.acquired)
      return ctx.send(
        200,
        { ok: true, acquired: true, session: lock.session, revision: res.revision },
        { "x-gantry-index": String(res.revision) },
      );
    const by =
      res.holder.session === undefined
        ? `lease ${res.holder.lease}`
        : `session ${res.holder.session}`;
    return ctx.send(409, {
      ok: false,
      acquired: false,
      error: { code: "lock_held", message: `"${user}" is held by ${by}` },
      holder: res.holder,
    });
  }
  try {
    const revision = await locks.release(
      ctx.who,
      key,
      lock.session,
      value.length === 0 ? undefined : value,
    );
    ctx.send(200, { ok: true, released: true, revision }, { "x-gantry-index": String(revision) });
  } catch (err) {
    if (!(err instanceof NotHolderError)) throw err;
    ctx.send(409, {
      ok: false,
      released: false,
      error: err.toJSON(),
      ...(err.holder === undefined ? {} : { holder: err.holder }),
    });
  }
}

/** Show which session holds a key (its lease belongs to that session). */
function withHolder<T extends { lease: string }>(
  kv: T,
  holders: Map<string, string>,
): T & { session?: string } {
  const session = holders.get(kv.lease);
  return session === undefined ? kv : { ...kv, session };
}
