import * as z from "zod";
import type { TokenInfo } from "../../client/client.js";
import {
  formatPolicy,
  parsePolicy,
  PolicySchema,
  TokenNameSchema,
  type Policy,
} from "../../model/token.js";
import type { Kind, SpecProblem } from "../kind.js";

/** A policy as written: the CLI's `kv:app/:read` or `admin`, or the API's object form. */
const PolicyInput = z.union([
  z.string().transform((text, ctx): Policy => {
    try {
      return parsePolicy(text);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  }),
  PolicySchema,
]);

const TokenSpecSchema = z.strictObject({ policies: z.array(PolicyInput).min(1).max(64) });
export type TokenSpec = z.infer<typeof TokenSpecSchema>;

/** What the stack compares: the token's id and its policies (never its secret). */
export interface LiveToken {
  id: string;
  policies: Policy[];
}

const shown = (policies: readonly Policy[]): string[] => policies.map(formatPolicy);

/**
 * `tokens:` — API tokens the stack defines. A token's secret is made when it is created and
 * shown once, to whoever applies (ctx.reveal); it is in no file and no record, and is never shown
 * again. A change of policies updates the token in place: its secret stays valid.
 */
export const tokenKind: Kind<TokenSpec, LiveToken> = {
  name: "token",
  section: "tokens",
  rank: 20,
  schema: TokenSpecSchema,

  check(items) {
    const problems = new Map<string, SpecProblem[]>();
    for (const item of items) {
      const r = TokenNameSchema.safeParse(item.name);
      if (!r.success)
        problems.set(item.name, [
          { path: "", message: `a token name is ${r.error.issues[0]!.message}` },
        ]);
    }
    return problems;
  },

  async read(ctx, names) {
    const wanted = new Set(names);
    const live = new Map();
    for (const t of (await ctx.client.tokensList()) as (TokenInfo & { policies: Policy[] })[]) {
      if (!wanted.has(t.name)) continue;
      live.set(t.name, {
        name: t.name,
        value: { id: t.id, policies: t.policies },
        revisions: { [`sys/tokens/${t.id}`]: t.modRevision ?? 0 },
      });
    }
    return live;
  },

  diff(item, live) {
    const want = shown(item.spec.policies);
    if (live === undefined) return [{ path: "policies", new: want }];
    const have = shown(live.value.policies);
    return have.join(" ") === want.join(" ") ? [] : [{ path: "policies", old: have, new: want }];
  },

  async create(ctx, item) {
    const t = await ctx.client.tokensCreate(item.name, item.spec.policies);
    ctx.reveal(`secret ${t.secret} (shown once: store it now; it is kept nowhere)`);
  },
  async update(ctx, item, live) {
    await ctx.client.tokensUpdate(live.value.id, item.spec.policies);
  },
  async destroy(ctx, _name, live) {
    await ctx.client.tokensRevoke(live.value.id);
  },
};
