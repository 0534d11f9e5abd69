import { ValidationError, conflict, notFound } from "../../errors.js";
import { K } from "../../model/keys.js";
import {
  ItemNameSchema,
  KindNameSchema,
  OwnershipBatchSchema,
  OwnershipInputSchema,
  ownershipKey,
  StackInfoPatchSchema,
  StackInfoSchema,
  type OwnershipRecord,
  type StackInfo,
} from "../../model/stack.js";
import { allows, allowsPrefix } from "../../model/token.js";
import { MAX_TXN_OPS } from "../../store/limits.js";
import { text, type KeyValue, type TxnOp } from "../../store/index.js";
import { parseWith } from "../../validate.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";
import { STACK_REPO } from "../../gitops/repo.js";
import { apiBase } from "./apps-common.js";

/**
 * The stack's records (docs/stack.md): ownership of each managed item and the stack's status.
 * Policies name them as resource `stack`: `items/<kind>/<name>` and `info`
 * (e.g. `stack::write` for everything, `stack:items/kv/:read`).
 */
export function stackRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;

  const itemParams = (ctx: Ctx): { kind: string; name: string } => ({
    kind: pathParam(ctx, "kind", KindNameSchema),
    name: parseWith(ItemNameSchema, decodePath(ctx.params["name"] ?? ""), "name"),
  });
  const need = (ctx: Ctx, name: string, access: "read" | "write"): void => {
    if (!allows(ctx.who.policies, "stack", name, access))
      throw forbidden(`${access} stack ${name}`);
  };

  return [
    {
      method: "GET",
      path: "/v1/stack/items",
      summary: "Every item the stack manages: its ownership record (stack, commit, protect…)",
      handler: async (ctx) => {
        ctx.allowQuery();
        if (!allowsPrefix(ctx.who.policies, "stack", "items/", "read"))
          throw forbidden("read stack items/");
        const res = await store.range({ prefix: K.stackItems });
        ctx.send(200, res.kvs.flatMap(toRecord), { "x-gantry-index": String(res.revision) });
      },
    },
    {
      method: "POST",
      path: "/v1/stack/items",
      summary: "Write and remove ownership records in one request: {put: [...], delete: [...]}",
      handler: async (ctx) => {
        ctx.allowQuery();
        const body = await ctx.json(OwnershipBatchSchema);
        const stamp = { appliedAt: new Date().toISOString(), appliedBy: ctx.who.name };
        const ops: TxnOp[] = [];
        for (const r of body.put) {
          need(ctx, `items/${r.kind}/${r.name}`, "write");
          ops.push({
            type: "put",
            key: ownershipKey(r.kind, r.name),
            value: JSON.stringify({ ...r, ...stamp }),
          });
        }
        for (const r of body.delete) {
          need(ctx, `items/${r.kind}/${r.name}`, "write");
          ops.push({ type: "delete", range: ownershipKey(r.kind, r.name) });
        }
        // Each transaction carries its audit entry; records are idempotent, so a batch cut in
        // several transactions is still consistent item by item.
        let revision = 0;
        const per = MAX_TXN_OPS - 1;
        for (let i = 0; i < ops.length; i += per) {
          const chunk = ops.slice(i, i + per);
          const res = await store.txn({
            success: [...chunk, deps.audit.entry(ctx.who, "stack.record", `${chunk.length} items`)],
          });
          revision = res.revision;
        }
        ctx.send(200, { revision, put: body.put.length, deleted: body.delete.length });
      },
    },
    {
      method: "GET",
      path: "/v1/stack/items/:kind/*name",
      summary: "One item's ownership record",
      handler: async (ctx) => {
        ctx.allowQuery();
        const { kind, name } = itemParams(ctx);
        need(ctx, `items/${kind}/${name}`, "read");
        const kv = await store.get(ownershipKey(kind, name));
        const rec = kv === undefined ? [] : toRecord(kv);
        if (rec[0] === undefined) throw notFound(`stack item ${kind}/${name}`);
        ctx.send(200, rec[0]);
      },
    },
    {
      method: "PUT",
      path: "/v1/stack/items/:kind/*name",
      summary: "Record that the stack manages an item (after applying it)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const { kind, name } = itemParams(ctx);
        need(ctx, `items/${kind}/${name}`, "write");
        const body = await ctx.json(OwnershipInputSchema);
        if (body.kind !== kind || body.name !== name)
          throw new ValidationError("kind and name must be those of the path", "name");
        const record = { ...body, appliedAt: new Date().toISOString(), appliedBy: ctx.who.name };
        const res = await store.txn({
          success: [
            { type: "put", key: ownershipKey(kind, name), value: JSON.stringify(record) },
            deps.audit.entry(ctx.who, "stack.record", `${kind}/${name}`),
          ],
        });
        ctx.send(200, { ...record, modRevision: res.revision });
      },
    },
    {
      method: "DELETE",
      path: "/v1/stack/items/:kind/*name",
      summary: "Stop managing an item (stack:forget): its record goes, the item stays",
      handler: async (ctx) => {
        ctx.allowQuery();
        const { kind, name } = itemParams(ctx);
        need(ctx, `items/${kind}/${name}`, "write");
        const key = ownershipKey(kind, name);
        const res = await store.txn({
          compare: [{ key, target: "version", op: ">", value: 0 }],
          success: [
            { type: "get", range: key },
            { type: "delete", range: key },
            deps.audit.entry(ctx.who, "stack.forget", `${kind}/${name}`),
          ],
        });
        const got = res.results[0];
        const rec = got?.type === "get" && got.kvs[0] ? toRecord(got.kvs[0]) : [];
        if (!res.succeeded || rec[0] === undefined) throw notFound(`stack item ${kind}/${name}`);
        ctx.send(200, rec[0]);
      },
    },
    {
      method: "GET",
      path: "/v1/stack/info",
      summary: "The stack's status: git URL, commit, state, drift, last sync and apply",
      handler: async (ctx) => {
        ctx.allowQuery();
        need(ctx, "info", "read");
        const kv = await store.get(K.stackInfo);
        const info = kv === undefined ? {} : readInfo(kv);
        // Not following an outside repo: the stack repo this server hosts.
        ctx.send(200, {
          ...info,
          gitUrl: info.gitUrl ?? `${apiBase(ctx, deps)}/git/${STACK_REPO}.git`,
        });
      },
    },
    {
      method: "PUT",
      path: "/v1/stack/info",
      summary: "Set fields of the stack's status (null removes a field)",
      handler: async (ctx) => {
        ctx.allowQuery();
        need(ctx, "info", "write");
        const patch = await ctx.json(StackInfoPatchSchema);
        for (let attempt = 0; attempt < 8; attempt++) {
          const kv = await store.get(K.stackInfo);
          const merged: Record<string, unknown> = { ...(kv === undefined ? {} : readInfo(kv)) };
          for (const [k, v] of Object.entries(patch)) {
            if (v === null) delete merged[k];
            else merged[k] = v;
          }
          const info = parseWith(StackInfoSchema, merged);
          const res = await store.txn({
            compare: [
              { key: K.stackInfo, target: "modRevision", op: "==", value: kv?.modRevision ?? 0 },
            ],
            success: [
              { type: "put", key: K.stackInfo, value: JSON.stringify(info) },
              deps.audit.entry(ctx.who, "stack.info", Object.keys(patch).join(",")),
            ],
          });
          if (res.succeeded) return ctx.send(200, info);
        }
        throw conflict("stack/info kept changing; try again");
      },
    },
  ];
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ValidationError("the name in the path is not valid percent-encoding", "name");
  }
}

/**
 * A stored record. Records are validated when written, so reading checks only their shape (a
 * plan reads them all: 1,000 full schema parses would be most of the request).
 */
function toRecord(kv: KeyValue): OwnershipRecord[] {
  try {
    const rec = JSON.parse(text(kv.value)) as OwnershipRecord;
    const ok =
      typeof rec.kind === "string" &&
      typeof rec.name === "string" &&
      typeof rec.specHash === "string" &&
      typeof rec.protect === "boolean";
    return ok ? [{ ...rec, modRevision: kv.modRevision }] : [];
  } catch {
    return []; // damaged bytes: not a record the stack can rely on
  }
}

function readInfo(kv: KeyValue): StackInfo {
  try {
    const info = StackInfoSchema.safeParse(JSON.parse(text(kv.value)));
    return info.success ? info.data : {};
  } catch {
    return {};
  }
}
