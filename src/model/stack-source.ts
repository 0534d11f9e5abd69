import * as z from "zod";
import { durationSchema } from "./duration.js";

/**
 * Where the stack comes from, on the wire (`PUT /v1/stack/source`, `gantry stack:connect`):
 * an outside git repo the server follows. Shared by the API and the client.
 */

/** How often an outside repo is polled: at least 5 s, at most a day. */
export const MIN_INTERVAL_MS = 5_000;
export const MAX_INTERVAL_MS = 86_400_000;

export const ConnectSchema = z.strictObject({
  url: z.string().min(1).max(2048),
  branch: z.string().min(1).max(256).default("main"),
  /** A folder of the repo holding gantry.yaml ("" for its root). */
  path: z.string().max(1024).default(""),
  interval: durationSchema(MIN_INTERVAL_MS, MAX_INTERVAL_MS).default("60s"),
  /** The webhook secret (HMAC-SHA256 key); stored sealed, never sent back. */
  secret: z.string().min(1).max(1024).optional(),
});
export type ConnectRequest = z.input<typeof ConnectSchema>;

/** What connecting answers (never the secret). */
export interface ConnectAnswer {
  /** Without a password, when it had one. */
  url: string;
  branch: string;
  path: string;
  interval: string;
  /** The commit the branch is at now. */
  head: string;
  /** Where the repo's host should send push events. */
  webhook: string;
  webhookSecret: boolean;
}
