import * as z from "zod";
import { ValidationError } from "../../errors.js";
import { allows, allowsPrefix } from "../../model/token.js";
import type { Compare, TxnOp } from "../../store/index.js";
import { forbidden } from "../errors.js";
import { toApi, userKey } from "../kv-codec.js";
import type { ApiDeps, RouteDef } from "../server.js";

const CompareSchema = z.strictObject({
  key: z.string(),
  target: z.enum(["value", "version", "createRevision", "modRevision", "lease"]),
  op: z.enum(["==", "!=", "<", ">"]),
  value: z.union([z.string(), z.number().int().nonnegative()]),
});

const OpSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("get"), key: z.string(), recurse: z.boolean().optional() }),
  z.strictObject({
    type: z.literal("put"),
    key: z.string(),
    value: z.string().optional(),
    valueBase64: z.base64().optional(),
    lease: z
      .string()
      .regex(/^\d{1,20}$/)
      .optional(),
  }),
  z.strictObject({ type: z.literal("delete"), key: z.string(), recurse: z.boolean().optional() }),
]);

const TxnSchema = z.strictObject({
  compare: z.array(CompareSchema).max(128).default([]),
  success: z.array(OpSchema).max(128).default([]),
  failure: z.array(OpSchema).max(128).default([]),
});

export function txnRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "POST",
      path: "/v1/txn",
      summary: "An atomic KV transaction: compares, then the success or the failure operations",
      handler: async (ctx) => {
        ctx.allowQuery();
        const body = await ctx.json(TxnSchema);
        const p = ctx.who.policies;
        const compare: Compare[] = body.compare.map((c, i) => {
          const key = userKey(c.key, `compare.${i}.key`);
          if (!allows(p, "kv", c.key, "read")) throw forbidden(`read kv "${c.key}"`);
          if (c.target === "value") {
            if (typeof c.value !== "string")
              throw new ValidationError(
                "a value compare needs a string value",
                `compare.${i}.value`,
              );
            return { key, target: "value", op: c.op, value: c.value };
          }
          if (c.target === "lease")
            return { key, target: "lease", op: c.op, value: String(c.value) };
          if (typeof c.value !== "number")
            throw new ValidationError(`a ${c.target} compare needs a number`, `compare.${i}.value`);
          return { key, target: c.target, op: c.op, value: c.value };
        });
        const toOps = (ops: z.infer<typeof OpSchema>[], branch: string): TxnOp[] => {
          const out: TxnOp[] = [];
          ops.forEach((op, i) => {
            const field = `${branch}.${i}`;
            const recurse = op.type !== "put" && op.recurse === true;
            const key = userKey(op.key, `${field}.key`, recurse);
            if (op.type === "get") {
              if (
                !(recurse ? allowsPrefix(p, "kv", op.key, "read") : allows(p, "kv", op.key, "read"))
              )
                throw forbidden(`read kv "${op.key}"`);
              out.push({ type: "get", range: recurse ? { prefix: key } : key });
            } else if (op.type === "delete") {
              if (
                !(recurse
                  ? allowsPrefix(p, "kv", op.key, "write")
                  : allows(p, "kv", op.key, "write"))
              )
                throw forbidden(`write kv "${op.key}"`);
              out.push({ type: "delete", range: recurse ? { prefix: key } : key });
              out.push(deps.audit.entry(ctx.who, "kv.delete", op.key));
            } else {
              if (!allows(p, "kv", op.key, "write")) throw forbidden(`write kv "${op.key}"`);
              if ((op.value === undefined) === (op.valueBase64 === undefined)) {
                throw new ValidationError(
                  "a put needs exactly one of value or valueBase64",
                  `${field}.value`,
                );
              }
              const value =
                op.value !== undefined
                  ? Buffer.from(op.value)
                  : Buffer.from(op.valueBase64!, "base64");
              out.push({
                type: "put",
                key,
                value,
                ...(op.lease === undefined ? {} : { lease: op.lease }),
              });
              out.push(deps.audit.entry(ctx.who, "kv.put", op.key));
            }
          });
          return out;
        };
        const res = await deps.store.txn({
          compare,
          success: toOps(body.success, "success"),
          failure: toOps(body.failure, "failure"),
        });
        const results = res.results.map((r) => {
          if (r.type === "get") return { type: "get", kvs: r.kvs.map((kv) => toApi(kv)) };
          if (r.type === "delete") return { type: "delete", deleted: r.deleted };
          return { type: "put", revision: r.revision };
        });
        ctx.send(200, {
          succeeded: res.succeeded,
          revision: res.revision,
          results: stripAudit(results),
        });
      },
    },
  ];
}

/** Audit puts ride along in the transaction; the caller sees only its own operations. */
function stripAudit<T extends { type: string }>(results: T[]): T[] {
  const out: T[] = [];
  for (let i = 0; i < results.length; i++) {
    out.push(results[i]!);
    if (results[i]!.type !== "get") i++; // each write is followed by its audit put
  }
  return out;
}
