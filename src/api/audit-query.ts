import { ValidationError } from "../errors.js";
import { parseDuration } from "../model/duration.js";
import type { AuditEntry } from "../model/token.js";

/**
 * The filters of `GET /v1/audit` (pure: parsed from the query, applied to entries). All given
 * filters must match:
 * - `token`: the token's name or id, exactly;
 * - `action`: the action exactly, or a family (`token` matches `token.create`, `token.revoke`);
 * - `target`: text the target contains (case-insensitive);
 * - `since`: an ISO time, or a duration back from now (`15m`, `2h`);
 * - `before`: an entry's `id`: only older entries (the cursor of "load older").
 */
export interface AuditFilter {
  token?: string;
  action?: string;
  target?: string;
  /** Epoch milliseconds. */
  since?: number;
  before?: string;
}

/** An entry id: its key after `sys/audit/` (`<ms, 13 digits>-<server>-<seq>`). */
const ID = /^\d{13}-[A-Za-z0-9_.:@-]{1,128}-\d{6}$/;

export function parseAuditFilter(query: URLSearchParams, now = Date.now()): AuditFilter {
  const f: AuditFilter = {};
  const text = (name: string): string | undefined => {
    const v = query.get(name);
    if (v === null || v === "") return undefined;
    if (v.length > 256) throw new ValidationError(`${name} is longer than 256 characters`, name);
    return v;
  };
  const token = text("token");
  if (token !== undefined) f.token = token;
  const action = text("action");
  if (action !== undefined) f.action = action;
  const target = text("target");
  if (target !== undefined) f.target = target.toLowerCase();
  const since = text("since");
  if (since !== undefined) {
    const back = parseDuration(since);
    const at = back !== undefined ? now - back : Date.parse(since);
    if (Number.isNaN(at))
      throw new ValidationError(
        "since must be an ISO time (2026-01-31T12:00:00Z) or a duration back from now (15m, 2h)",
        "since",
      );
    f.since = at;
  }
  const before = text("before");
  if (before !== undefined) {
    if (!ID.test(before))
      throw new ValidationError(
        "before must be an entry's id, as the audit log shows it",
        "before",
      );
    f.before = before;
  }
  return f;
}

/** Whether any filter needs the entries' values (token, action, target). */
export const needsValues = (f: AuditFilter): boolean =>
  f.token !== undefined || f.action !== undefined || f.target !== undefined;

export function matchesAudit(f: AuditFilter, e: AuditEntry): boolean {
  if (f.token !== undefined && e.token !== f.token && e.tokenId !== f.token) return false;
  if (f.action !== undefined && e.action !== f.action && !e.action.startsWith(f.action + "."))
    return false;
  if (f.target !== undefined && !e.target.toLowerCase().includes(f.target)) return false;
  if (f.since !== undefined && Date.parse(e.time) < f.since) return false;
  return true;
}

/** The key range (after the audit prefix) that `since` and `before` leave: [start, end). */
export function auditKeyRange(f: AuditFilter): { start: string; end: string } {
  return {
    start: f.since === undefined ? "" : String(Math.max(0, f.since)).padStart(13, "0"),
    end: f.before ?? "\uffff",
  };
}
