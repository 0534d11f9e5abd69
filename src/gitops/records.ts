/**
 * GitOps's own record, `stack/gitops`: where the stack comes from (the hosted repo, or an
 * outside repo followed by stack:connect) and the applier whose token syncs, corrections and
 * webhooks apply with. Secrets in it (the webhook secret, the applier's token) are sealed with
 * the data directory's SecretBox and never leave the server.
 */
import * as z from "zod";
import { SecretBox } from "../apps/secrets.js";
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from "../model/stack-source.js";
import { text, type Store } from "../store/index.js";

export const GITOPS_KEY = "stack/gitops";
/** Written by the webhook (on any server): the leader's follower looks at the repo at once. */
export const POKE_KEY = "stack/poke";

export const FollowSchema = z.strictObject({
  /** As shown (stack:info): without a password. */
  url: z.string().min(1).max(2048),
  /** The URL with its credentials, sealed, when it had any. */
  sealedUrl: z.string().max(8192).optional(),
  branch: z.string().min(1).max(256),
  /** A folder of the repo holding gantry.yaml ("" for its root). */
  path: z.string().max(1024),
  intervalMs: z.number().int().min(MIN_INTERVAL_MS).max(MAX_INTERVAL_MS),
  /** The webhook secret, sealed; absent: the webhook answers 401 to everything. */
  secret: z.string().max(4096).optional(),
});
export type Follow = z.infer<typeof FollowSchema>;

export const GitOpsRecordSchema = z.strictObject({
  /** Absent: the stack comes from pushes to the hosted repo. */
  follow: FollowSchema.optional(),
  /** Whose token applies syncs that no person starts (webhook, poll, drift correction). */
  applier: z
    .strictObject({
      name: z.string().max(64),
      tokenId: z.string().max(64),
      /** The token's secret, sealed. */
      token: z.string().max(4096),
    })
    .optional(),
  updatedAt: z.string(),
});
export type GitOpsRecord = z.infer<typeof GitOpsRecordSchema>;

/** What a sealed value is bound to, so one cannot be moved onto the other. */
export const SEALED = {
  secret: "stack webhook secret",
  token: "stack applier token",
  url: "stack followed url",
} as const;

/** The record and its revision (0 when absent). */
export async function readGitOps(
  store: Store,
): Promise<{ record: GitOpsRecord | undefined; modRevision: number }> {
  const kv = await store.get(GITOPS_KEY);
  if (kv === undefined) return { record: undefined, modRevision: 0 };
  const parsed = GitOpsRecordSchema.safeParse(JSON.parse(text(kv.value)));
  return { record: parsed.success ? parsed.data : undefined, modRevision: kv.modRevision };
}

/** The applier's token in the clear (only ever handed to the server's own API client). */
export function applierToken(box: SecretBox, record: GitOpsRecord | undefined): string | undefined {
  return record?.applier === undefined
    ? undefined
    : box.decrypt(record.applier.token, SEALED.token);
}
