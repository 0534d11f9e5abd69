import { ValidationError } from "../../errors.js";
import { allows, allowsPrefix, canReadUnder } from "../../model/token.js";
import type { KeyValue, Store, TxnOp } from "../../store/index.js";
import { K } from "../../model/keys.js";
import { forbidden, notFound, HttpError } from "../errors.js";
import { pathKey, toApi } from "../kv-codec.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { parseWait, waitForChange } from "../blocking.js";

const stripped = (storeKey: string): string => storeKey.slice(K.kv.length);

export function kvRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
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
          await waitForChange(store, range, index, parseWait(ctx.query.get("wait")), deps.closing);
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
          return ctx.send(200, toApi(kv), headers);
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
        ctx.send(
          200,
          visible.map((kv) => toApi(kv)),
          headers,
        );
      },
    },
    {
      method: "PUT",
      path: "/v1/kv/*key",
      summary: "Write a key; the body is the value. ?cas=MODREV (0 = only if absent), ?lease=ID",
      handler: async (ctx) => {
        ctx.allowQuery("cas", "lease", "acquire", "release");
        const key = pathKey(ctx.params["key"]);
        const user = stripped(key);
        if (!allows(ctx.who.policies, "kv", user, "write")) throw forbidden(`write kv "${user}"`);
        const value = await ctx.body();
        const cas = ctx.query.has("cas") ? ctx.int("cas", 0) : undefined;
        const lease = ctx.query.get("lease") ?? undefined;
        if (lease !== undefined && !/^[0-9]{1,20}$/.test(lease))
          throw new ValidationError("lease must be a lease id", "lease");
        const put: TxnOp = { type: "put", key, value, ...(lease === undefined ? {} : { lease }) };
        const res = await casWrite(store, key, cas, [
          put,
          deps.audit.entry(ctx.who, "kv.put", user),
        ]);
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
        const res = await casWrite(store, key, cas, [
          { type: "delete", range },
          deps.audit.entry(ctx.who, recurse ? "kv.delete-prefix" : "kv.delete", user),
        ]);
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
  const res = await store.txn({
    compare: cas === undefined ? [] : [{ key, target: "modRevision", op: "==", value: cas }],
    success: ops,
    failure: [{ type: "get", range: key, keysOnly: true }],
  });
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
