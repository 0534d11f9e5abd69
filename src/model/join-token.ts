import * as z from "zod";

/** Join tokens by id: `sys/join-tokens/<id>` (hashed secrets, like API tokens). */
export const JOIN_TOKENS_PREFIX = "sys/join-tokens/";

export const JoinTokenRecordSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9]{6}$/),
  secretHash: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string().optional(),
  /** How many agents may join with it; absent: any number until it expires. */
  uses: z.number().int().positive().optional(),
  used: z.number().int().nonnegative(),
  labels: z.record(z.string(), z.string()),
  revokedAt: z.string().optional(),
  /** Who joins with it: agents (absent, the default), routers (`--router`) or servers (`--server`). */
  kind: z.enum(["router", "server"]).optional(),
});
export type JoinTokenRecord = z.infer<typeof JoinTokenRecordSchema>;

/** The parts of a join token string `K10<ca-hash>::<id>.<secret>`. */
export interface JoinTokenParts {
  caHash: string;
  id: string;
  secret: string;
}

const FORMAT = /^K10([0-9a-f]{64})::([a-z0-9]{6})\.([A-Za-z0-9_-]{16,128})$/;

/** The join token string an agent is given: it pins the cluster CA by its sha256. */
export function formatJoinToken(p: JoinTokenParts): string {
  return `K10${p.caHash}::${p.id}.${p.secret}`;
}

/** Parse a join token string, or undefined when it is not one. */
export function parseJoinToken(text: string): JoinTokenParts | undefined {
  const m = FORMAT.exec(text.trim());
  return m === null ? undefined : { caHash: m[1]!, id: m[2]!, secret: m[3]! };
}

/** What joins with a join token: an agent (a node), a router or a server (an etcd member). */
export type JoinKind = "node" | "router" | "server";

/** How each kind of joiner is named, joins, and has its join token made. */
const JOINER: Record<JoinKind, { who: string; one: string; join: string; create: string }> = {
  node: {
    who: "agents",
    one: "an agent",
    join: "gantry agent --join",
    create: "gantry join-tokens create",
  },
  router: {
    who: "routers",
    one: "a router",
    join: "gantry router --join",
    create: "gantry join-tokens create --router",
  },
  server: {
    who: "servers",
    one: "a server",
    join: "gantry server --join",
    create: "gantry join-tokens create --server",
  },
};

/** The kind of joiner a join token is for. */
export const joinKindOf = (t: Pick<JoinTokenRecord, "kind">): JoinKind => t.kind ?? "node";

/**
 * Why a join token may not be used now by a joiner of `kind`, or undefined when it may; each
 * reason says what to do.
 */
export function joinTokenRefusal(
  t: JoinTokenRecord,
  now = new Date(),
  kind: JoinKind = "node",
): string | undefined {
  const made = joinKindOf(t);
  if (made !== kind)
    return `join token ${t.id} is for ${JOINER[made].who} (${JOINER[made].join}), not ${JOINER[kind].who}: make ${JOINER[kind].one} join token with ${JOINER[kind].create}`;
  const create = JOINER[kind].create;
  if (t.revokedAt !== undefined)
    return `join token ${t.id} was revoked at ${t.revokedAt}: ask for a new one (${create})`;
  if (t.expiresAt !== undefined && Date.parse(t.expiresAt) <= now.getTime())
    return `join token ${t.id} expired at ${t.expiresAt}: make a new one (${create} --ttl …)`;
  if (t.uses !== undefined && t.used >= t.uses)
    return `join token ${t.id} is used up (${t.used} of ${t.uses} uses): make a new one (${create} --uses …)`;
  return undefined;
}

/** `k=v` labels as a record, naming the field for a bad one. */
export function parseLabels(items: string[]): Record<string, string> | { error: string } {
  const labels: Record<string, string> = {};
  for (const item of items) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._/-]{0,62})=([A-Za-z0-9._-]{0,63})$/.exec(item);
    if (m === null) return { error: `a label must be KEY=VALUE, got "${item}"` };
    labels[m[1]!] = m[2]!;
  }
  return labels;
}
