import * as z from "zod";
import { ValidationError } from "../errors.js";
import { parseDuration } from "./duration.js";

/**
 * Sessions: a named liveness token bound to one Store lease. Lock keys acquired with a session
 * are written with its lease, so when the holder stops renewing they vanish with it.
 */

export const SESSION_BEHAVIORS = ["release", "delete"] as const;
export type SessionBehavior = (typeof SESSION_BEHAVIORS)[number];

/** TTL bounds in seconds: leases are whole seconds; a day is plenty (Consul's maximum too). */
export const MIN_SESSION_TTL = 1;
export const MAX_SESSION_TTL = 86_400;
export const DEFAULT_SESSION_TTL = 15;

export const SessionIdSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "a session id (a UUID)");

export const SessionNameSchema = z
  .string()
  .max(128)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, "must not contain control characters");

/** The body of POST /v1/sessions. */
export const CreateSessionSchema = z
  .strictObject({
    name: SessionNameSchema.optional(),
    ttl: z.union([z.string().max(32), z.number()]).optional(),
    behavior: z.enum(SESSION_BEHAVIORS).optional(),
  })
  .nullable();
export type CreateSessionInput = NonNullable<z.infer<typeof CreateSessionSchema>>;

/** What is stored at `sessions/<id>` (attached to the session's lease). */
export interface SessionRecord {
  id: string;
  name: string;
  /** The TTL as a duration string, e.g. "15s". */
  ttl: string;
  behavior: SessionBehavior;
  /** The Store lease the session and its locks are bound to. */
  lease: string;
  createdAt: string;
  /** The name of the token that created it. */
  createdBy: string;
}

/** Parse a session TTL (a duration, or a number of seconds) into whole seconds within the bounds, naming `field` when it is wrong. */
export function parseSessionTtl(raw: string | number | undefined, field = "ttl"): number {
  if (raw === undefined) return DEFAULT_SESSION_TTL;
  const ms = typeof raw === "number" ? raw * 1000 : parseDuration(raw.trim());
  if (ms === undefined || !Number.isFinite(ms))
    throw new ValidationError(
      `${field} must be a duration like "15s" or "2m", got "${raw}"`,
      field,
    );
  if (ms % 1000 !== 0)
    throw new ValidationError(`${field} must be a whole number of seconds`, field);
  const secs = ms / 1000;
  if (secs < MIN_SESSION_TTL || secs > MAX_SESSION_TTL)
    throw new ValidationError(
      `${field} must be between ${MIN_SESSION_TTL}s and ${MAX_SESSION_TTL}s (24h)`,
      field,
    );
  return secs;
}
