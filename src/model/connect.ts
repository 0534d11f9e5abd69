import * as z from "zod";
import { durationSchema, formatDuration, parseDuration } from "./duration.js";

/**
 * An app connected to an outside git repository (`gantry apps:connect`): the server builds the
 * connected branch when the repo's host calls `POST /v1/hooks/git/<app>` (signed with the
 * connection's secret) and, as a fallback, when a poll sees a new commit.
 * Stored at `connect/apps/<app>` (src/model/keys.ts); shared by the API, the poller and the CLI.
 */

/** How often the branch is polled: 0 (off), or between 1 s and a day. */
export const MIN_POLL_MS = 1_000;
export const MAX_POLL_MS = 86_400_000;
export const DEFAULT_POLL_MS = 60_000;

/** How long a delivery id is remembered (a replay within it is refused). */
export const DELIVERY_TTL_SECONDS = 86_400;

const pollSchema = z.union([z.literal("0"), durationSchema(MIN_POLL_MS, MAX_POLL_MS)]);

/** `POST /v1/apps/:app/connect`. */
export const ConnectAppSchema = z.strictObject({
  repo: z.string().min(1).max(2048),
  branch: z.string().min(1).max(256).default("main"),
  /** A duration ("30s", "1m") or "0" for no polling (webhooks only). */
  poll: pollSchema.default("1m"),
});
export type ConnectAppRequest = z.input<typeof ConnectAppSchema>;

/** Milliseconds of a validated poll value. */
export const pollMs = (poll: string): number => (poll === "0" ? 0 : (parseDuration(poll) ?? 0));

/** The stored record. The secret is sealed with the apps SecretBox; it never leaves the server. */
export const AppConnectionSchema = z.object({
  app: z.string(),
  /** The URL as git needs it (it may hold credentials: sealed in `sealedRepo` then). */
  repo: z.string(),
  sealedRepo: z.string().optional(),
  branch: z.string(),
  secret: z.string(),
  pollMs: z.number().int().min(0),
  /** The last commit built (or tried) from this connection. */
  lastCommit: z.string().optional(),
  /** Its build id and how it ended. */
  lastBuild: z.string().optional(),
  lastResult: z.enum(["succeeded", "failed"]).optional(),
  /** A build being made now (claimed so that another server or the poller does not build it twice). */
  building: z.object({ commit: z.string(), at: z.string(), by: z.string() }).optional(),
  lastCheckedAt: z.string().optional(),
  lastError: z.string().optional(),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type AppConnection = z.infer<typeof AppConnectionSchema>;

/** What `GET /v1/apps/:app/connect` answers: the record without the secret. */
export interface AppConnectionView {
  app: string;
  /** Without a password, when it had one. */
  repo: string;
  branch: string;
  /** "1m", or "off". */
  poll: string;
  pollMs: number;
  webhookUrl: string;
  lastCommit: string | null;
  lastBuild: string | null;
  lastResult: "succeeded" | "failed" | null;
  building: string | null;
  lastCheckedAt: string | null;
  lastError: string | null;
  createdBy: string;
  createdAt: string;
}

/** What connecting answers: the only time the secret is shown. */
export interface ConnectAppAnswer extends AppConnectionView {
  /** The webhook secret (HMAC-SHA256 key): paste it into the repo host's webhook settings. */
  secret: string;
  /** The commit the branch is at now (built in the background). */
  head: string;
}

export function connectionView(c: AppConnection, webhookUrl: string): AppConnectionView {
  return {
    app: c.app,
    repo: c.repo,
    branch: c.branch,
    poll: c.pollMs === 0 ? "off" : formatDuration(c.pollMs),
    pollMs: c.pollMs,
    webhookUrl,
    lastCommit: c.lastCommit ?? null,
    lastBuild: c.lastBuild ?? null,
    lastResult: c.lastResult ?? null,
    building: c.building?.commit ?? null,
    lastCheckedAt: c.lastCheckedAt ?? null,
    lastError: c.lastError ?? null,
    createdBy: c.createdBy,
    createdAt: c.createdAt,
  };
}
