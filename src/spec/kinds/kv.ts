import * as z from "zod";
import type { ApiKeyValue } from "../../client/client.js";
import type { ApplyStep, Kind, KindContext, LiveItem, SpecProblem } from "../kind.js";

/** One key the stack owns: its value, and whether plans must hide it. */
export interface KvSpec {
  value: string;
  sensitive: boolean;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/**
 * `app/port: "8080"`, or `app/password: {value: "${env.PW}", sensitive: true}`. One flat union
 * (not `scalar` inside one): a 1,000-key stack parses every key, ~40% faster so.
 */
const KvSchema = z
  .union([
    z.string(),
    z.number(),
    z.boolean(),
    z.strictObject({ value: scalar, sensitive: z.boolean().default(false) }),
  ])
  .transform((v): KvSpec => (typeof v === "object" ? v : { value: String(v), sensitive: false }));

/** Keys per transaction: each put travels with its audit entry, and etcd allows 128 ops. */
const PER_TXN = 64;
/** More read roots than this and one read of the whole keyspace is cheaper. */
const MAX_ROOTS = 16;

const decode = (b64: string): string => Buffer.from(b64, "base64").toString("utf8");

/**
 * `kv:` — keys the stack owns, and `kvPrefixes:` — prefixes it owns whole (any other key under
 * one is an orphan, destroyed with `prune: true`). Live state is read with a few recursive
 * reads (one per top-level folder), and applies go through /v1/txn, 64 keys at a time.
 */
export const kvKind: Kind<KvSpec, string> = {
  name: "kv",
  section: "kv",
  prefixSection: "kvPrefixes",
  rank: 10,
  schema: KvSchema,
  batchSize: PER_TXN,

  check(items) {
    const problems = new Map<string, SpecProblem[]>();
    for (const item of items) {
      const why = keyProblem(item.name);
      if (why !== undefined) problems.set(item.name, [{ path: "", message: why }]);
    }
    return problems;
  },

  async read(ctx, names, opts = {}) {
    const wanted = new Set(names);
    const prefixes = opts.prefixes ?? [];
    const lists = await Promise.all(
      readRoots(names, prefixes).map((root) => ctx.client.kvList(root) as Promise<ApiKeyValue[]>),
    );
    const live = new Map<string, LiveItem<string>>();
    for (const list of lists)
      for (const kv of list) {
        if (!wanted.has(kv.key) && !prefixes.some((p) => kv.key.startsWith(p))) continue;
        live.set(kv.key, {
          name: kv.key,
          value: decode(kv.value),
          revisions: { [`kv/${kv.key}`]: kv.modRevision },
        });
      }
    return live;
  },

  diff(item, live) {
    const sensitive = item.spec.sensitive ? { sensitive: true } : {};
    if (live === undefined) return [{ path: "value", new: item.spec.value, ...sensitive }];
    if (live.value === item.spec.value) return [];
    return [{ path: "value", old: live.value, new: item.spec.value, ...sensitive }];
  },

  async create(ctx, item) {
    await ctx.client.kvPut(item.name, item.spec.value);
  },
  async update(ctx, item) {
    await ctx.client.kvPut(item.name, item.spec.value);
  },
  async destroy(ctx, name) {
    await ctx.client.kvDelete(name);
  },

  async applyBatch(ctx, steps) {
    for (let i = 0; i < steps.length; i += PER_TXN) await txn(ctx, steps.slice(i, i + PER_TXN));
  },
};

async function txn(ctx: KindContext, steps: ApplyStep<KvSpec, string>[]): Promise<void> {
  const success = steps.map((s) =>
    s.action === "destroy"
      ? { type: "delete", key: s.name }
      : { type: "put", key: s.item.name, value: s.item.spec.value },
  );
  await ctx.client.json("POST", "/v1/txn", { body: { success } });
}

/**
 * The fewest recursive reads that cover every name and prefix: one per top-level folder
 * (`app/`), or the whole keyspace when that would be many.
 */
export function readRoots(names: readonly string[], prefixes: readonly string[]): string[] {
  const roots = new Set(prefixes);
  for (const n of names) {
    const slash = n.indexOf("/");
    roots.add(slash < 0 ? n : n.slice(0, slash + 1));
  }
  const kept: string[] = [];
  for (const r of [...roots].sort((a, b) => a.length - b.length))
    if (!kept.some((k) => r.startsWith(k))) kept.push(r);
  return kept.length > MAX_ROOTS ? [""] : kept;
}

function keyProblem(key: string): string | undefined {
  if (key.startsWith("/")) return 'a key must not start with "/"';
  if (key.split("/").some((s) => s === "." || s === ".."))
    return 'a key must not contain "." or ".." segments';
  if (Buffer.byteLength(key) > 4000) return "a key is at most 4000 bytes";
  return undefined;
}
