import * as z from "zod";
import { AppNameSchema } from "./app.js";
import { K } from "./keys.js";

/**
 * Notifications (issue 15, docs/delivery/notifications.md): webhook URLs per app or per pipeline.
 *
 *   notify/hooks/<app:NAME|pipeline:NAME>/<id>   NotifyHook
 *   notify/outbox/<ms, 13 digits>-<seq>          OutboxEntry (a payload waiting for delivery)
 *   sys/notify/cursor                            NotifyCursor (the revision the notifier handled)
 */

export const NOTIFY_EVENTS = [
  "deploy.started",
  "deploy.succeeded",
  "deploy.failed",
  "test.failed",
  "promotion",
] as const;
export const NotifyEventSchema = z.enum(NOTIFY_EVENTS);
export type NotifyEvent = z.infer<typeof NotifyEventSchema>;

/** What a hook receives: one of the events, or `test` from `notifications:test`. */
export const PayloadEventSchema = z.enum([...NOTIFY_EVENTS, "test"]);

/** Whose events a hook receives: `app:NAME` or `pipeline:NAME`. */
export const HookTargetSchema = z
  .string()
  .regex(
    /^(app|pipeline):([a-z][a-z0-9-]{0,28}[a-z0-9]|[a-z])$/,
    "must be app:NAME or pipeline:NAME",
  );
export type HookTarget = `app:${string}` | `pipeline:${string}`;

export const HookIdSchema = z.string().regex(/^[0-9a-f]{8}$/, "is not a notification id");

/** A webhook URL: http or https only, at most 2,048 characters. */
export const HookUrlSchema = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
    } catch {
      return false;
    }
  }, "must be an http:// or https:// URL");

/** The last delivery, or the last failure, of a hook. */
export const DeliveryNoteSchema = z.strictObject({
  at: z.string(),
  event: PayloadEventSchema,
  /** The receiver's HTTP status (absent: no answer). */
  status: z.number().int().optional(),
  /** How many attempts it took (or were made before giving up). */
  attempts: z.number().int().min(1),
  error: z.string().max(500).optional(),
  /** The entry was dropped: too many attempts or too old. */
  gaveUp: z.boolean().optional(),
});
export type DeliveryNote = z.infer<typeof DeliveryNoteSchema>;

export const NotifyHookSchema = z.strictObject({
  id: HookIdSchema,
  target: HookTargetSchema,
  url: HookUrlSchema,
  events: z.array(NotifyEventSchema).min(1),
  /** The signing secret, sealed with the data directory's key (SecretBox). */
  secret: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  lastDelivery: DeliveryNoteSchema.optional(),
  lastError: DeliveryNoteSchema.optional(),
});
export type NotifyHook = z.infer<typeof NotifyHookSchema>;

/** The JSON body a hook receives (Slack reads `text`). */
export const NotifyPayloadSchema = z.strictObject({
  event: PayloadEventSchema,
  app: AppNameSchema,
  pipeline: z.string().optional(),
  release: z.number().int().min(0).optional(),
  status: z.string().optional(),
  error: z.string().optional(),
  /** The app's URL. */
  url: z.string().optional(),
  /** test.failed: the build and its commit. */
  build: z.string().optional(),
  commit: z.string().optional(),
  /** promotion: where the release came from. */
  promotedFrom: z
    .strictObject({ app: AppNameSchema, version: z.number().int().min(1), pipeline: z.string() })
    .optional(),
  text: z.string(),
  /** When the event happened (ISO time). */
  at: z.string(),
});
export type NotifyPayload = z.infer<typeof NotifyPayloadSchema>;

export const OutboxEntrySchema = z.strictObject({
  /** The hook's key: `notify/hooks/<target>/<id>`. */
  hook: z.string(),
  payload: NotifyPayloadSchema,
  attempts: z.number().int().min(0),
  createdAt: z.string(),
  /** When to try (again): ISO time. */
  nextAt: z.string(),
  lastError: z.string().max(500).optional(),
});
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

export const NotifyCursorSchema = z.strictObject({
  revision: z.number().int().min(0),
  updatedAt: z.string(),
  /** Set when history was compacted before the notifier read it: events in between were lost. */
  resyncedAt: z.string().optional(),
});
export type NotifyCursor = z.infer<typeof NotifyCursorSchema>;

export const hookPrefix = (target: string): string => `${K.notifyHooks}${target}/`;
export const hookKey = (target: string, id: string): string => `${hookPrefix(target)}${id}`;

/** The secret box context of a hook's secret (nothing else opens it). */
export const hookSecretContext = (target: string, id: string): string => `notify ${target}/${id}`;

/** An outbox key: time-ordered, unique per (revision, n) of the change it came from. */
export const outboxKey = (ms: number, revision: number, n: number): string =>
  `${K.notifyOutbox}${String(ms).padStart(13, "0")}-${String(revision).padStart(12, "0")}-${String(n).padStart(4, "0")}`;

/** A hook as the API shows it: the URL redacted, never the secret. */
export type HookView = Omit<NotifyHook, "secret" | "url"> & { url: string };

/** How `notifications:test` went. */
export interface HookTestResult {
  delivered: boolean;
  status?: number;
  error?: string;
}
