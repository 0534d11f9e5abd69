import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuditLog } from "../audit/log.js";
import { HttpError } from "../errors.js";
import { K } from "../model/keys.js";
import type { Principal } from "../model/principal.js";
import type { TokenRecord } from "../model/token.js";
import type { Compare, Store, TxnOp } from "../store/index.js";
import { text } from "../store/values.js";
import { unauthorized } from "./errors.js";
import type { TokenRegistry } from "./tokens.js";
import {
  CSRF_HEADER,
  LINK_TTL_S,
  SESSION_TTL_S,
  UiLinkSchema,
  UiSessionSchema,
  cookieValue,
  digest,
  isCode,
  newCode,
  principalOf,
  sameSecret,
  standingToken,
  tokenCheck,
  type UiSession,
} from "./ui-records.js";

/** How long a server trusts a session record it read before reading it again (ms). */
const CACHE_MS = 1000;
const CACHE_MAX = 10_000;

interface Cached {
  record: UiSession;
  lease: string;
  at: number;
}

/** A request's dashboard session, once the cookie authenticated it. */
export interface ActiveSession {
  id: string;
  record: UiSession;
  lease: string;
  token: TokenRecord;
}

const ended = (): HttpError =>
  unauthorized(
    "the dashboard session ended (logged out, expired or its token revoked): log in again",
  );

const safe = (method: string): boolean => ["GET", "HEAD", "OPTIONS"].includes(method);

/**
 * Dashboard sessions and one-time login links, kept in the Store so every API server of a
 * cluster honours them. A session acts as the token that opened it (same principal, so the
 * audit log shows the token's name) and ends when that token is revoked, rotated or expires.
 * A server re-reads a session at most once a second (a logout elsewhere shows within 1 s);
 * bearer requests never come here.
 */
export class UiSessions {
  private readonly cache = new Map<string, Cached>();
  private readonly active = new WeakMap<IncomingMessage, ActiveSession>();

  constructor(
    private readonly store: Store,
    private readonly tokens: TokenRegistry,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** A one-time login link for `who`'s token, answering at `base`/ui/login. */
  async createLink(who: Principal, base: string): Promise<{ url: string; expiresAt: string }> {
    const token = this.tokens.find(who.tokenId);
    if (token === undefined || token.id !== who.tokenId) throw ended();
    const code = newCode();
    const now = this.now();
    const expiresAt = new Date(now + LINK_TTL_S * 1000).toISOString();
    const record = {
      tokenId: token.id,
      tokenCheck: tokenCheck(token),
      createdAt: new Date(now).toISOString(),
      expiresAt,
    };
    const id = digest(code);
    const lease = await this.store.grantLease(LINK_TTL_S);
    await this.store.txn({
      success: [
        { type: "put", key: K.uiLinks + id, value: JSON.stringify(record), lease: lease.id },
        this.audit.entry(who, "ui.link", `link ${id.slice(0, 12)}`),
      ],
    });
    return { url: `${base}/ui/login?code=${code}`, expiresAt };
  }

  /**
   * Use a link: deleted and turned into a session in one transaction guarded by the revision it
   * was read at, so two clicks cannot both win. Undefined when it is unknown, used, expired or
   * its token no longer stands.
   */
  async useLink(code: string): Promise<{ cookie: string; session: ActiveSession } | undefined> {
    if (!isCode(code)) return undefined;
    const key = K.uiLinks + digest(code);
    const kv = await this.store.get(key);
    if (kv === undefined) return undefined;
    const link = parse(UiLinkSchema, kv.value);
    const now = this.now();
    if (link === undefined || Date.parse(link.expiresAt) <= now) return undefined;
    const token = standingToken(this.tokens.find(link.tokenId), link, now);
    if (token === undefined) return undefined;
    return this.open(
      token,
      "link",
      [{ key, target: "modRevision", op: "==", value: kv.modRevision }],
      [{ type: "delete", range: key }],
    );
  }

  /** A session for a token given by hand (the caller checked the secret). */
  async loginWithToken(token: TokenRecord): Promise<{ cookie: string; session: ActiveSession }> {
    const opened = await this.open(token, "token", [], []);
    if (opened === undefined) throw new HttpError(409, "conflict", "try again");
    return opened;
  }

  private async open(
    token: TokenRecord,
    via: UiSession["via"],
    compare: Compare[],
    ops: TxnOp[],
  ): Promise<{ cookie: string; session: ActiveSession } | undefined> {
    const cookie = newCode();
    const id = digest(cookie);
    const now = this.now();
    const record: UiSession = {
      tokenId: token.id,
      tokenCheck: tokenCheck(token),
      csrf: newCode(),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + SESSION_TTL_S * 1000).toISOString(),
      via,
    };
    const lease = await this.store.grantLease(SESSION_TTL_S);
    const res = await this.store.txn({
      compare,
      success: [
        ...ops,
        { type: "put", key: K.uiSessions + id, value: JSON.stringify(record), lease: lease.id },
        this.audit.entry(principalOf(token), "ui.login", `session ${id.slice(0, 12)} (${via})`),
      ],
    });
    if (!res.succeeded) {
      await this.store.revokeLease(lease.id).catch(() => undefined);
      return undefined;
    }
    this.remember(id, { record, lease: lease.id, at: now });
    return { cookie, session: { id, record, lease: lease.id, token } };
  }

  /**
   * The principal of a request that carries the session cookie (and no Authorization header).
   * 401 when there is none or it ended; unknown cookies count as failed authentications of the
   * address (429 past the limit, as for tokens). A change (not GET/HEAD) also needs the
   * session's csrf value in X-Gantry-CSRF, else 403 `csrf`.
   */
  async authenticate(req: IncomingMessage, res?: ServerResponse): Promise<Principal> {
    const cookie = cookieValue(req.headers.cookie);
    if (cookie === undefined || cookie === "") throw unauthorized();
    const id = isCode(cookie) ? digest(cookie) : undefined;
    const now = this.now();
    let hit = id === undefined ? undefined : this.cache.get(id);
    if (id !== undefined && (hit === undefined || now - hit.at >= CACHE_MS))
      hit = await this.load(id, now);
    if (id === undefined || hit === undefined) {
      // As for tokens: a valid session is never slowed down, unknown ones count as failures.
      const address = req.socket.remoteAddress ?? "unknown";
      const wait = this.tokens.failures.retryAfter(address);
      if (wait > 0) {
        res?.setHeader("retry-after", String(wait));
        throw new HttpError(
          429,
          "too_many_requests",
          `too many failed authentications from ${address}; retry in ${wait}s`,
        );
      }
      this.tokens.failures.fail(address);
      throw ended();
    }
    const token =
      Date.parse(hit.record.expiresAt) > now
        ? standingToken(this.tokens.find(hit.record.tokenId), hit.record, now)
        : undefined;
    if (token === undefined) {
      this.cache.delete(id);
      throw ended();
    }
    if (!safe(req.method ?? "GET")) {
      const given = req.headers[CSRF_HEADER];
      if (typeof given !== "string" || !sameSecret(given, hit.record.csrf))
        throw new HttpError(
          403,
          "csrf",
          `a change made with a dashboard session needs the ${CSRF_HEADER} header (its value is in GET /v1/ui/session)`,
          CSRF_HEADER,
        );
    }
    this.active.set(req, { id, record: hit.record, lease: hit.lease, token });
    return principalOf(token);
  }

  /** The session that authenticated this request (undefined for a bearer token). */
  sessionOf(req: IncomingMessage): ActiveSession | undefined {
    return this.active.get(req);
  }

  /** End the request's session (its record goes, with an audit entry); false when it had none. */
  async logout(req: IncomingMessage): Promise<boolean> {
    const s = this.active.get(req);
    if (s === undefined) return false;
    const key = K.uiSessions + s.id;
    await this.store.txn({
      compare: [{ key, target: "version", op: ">", value: 0 }],
      success: [
        { type: "delete", range: key },
        this.audit.entry(principalOf(s.token), "ui.logout", `session ${s.id.slice(0, 12)}`),
      ],
    });
    this.cache.delete(s.id);
    this.active.delete(req);
    await this.store.revokeLease(s.lease).catch(() => undefined);
    return true;
  }

  private async load(id: string, now: number): Promise<Cached | undefined> {
    const kv = await this.store.get(K.uiSessions + id);
    const record = kv === undefined ? undefined : parse(UiSessionSchema, kv.value);
    if (kv === undefined || record === undefined) {
      this.cache.delete(id);
      return undefined;
    }
    const hit = { record, lease: kv.lease, at: now };
    this.remember(id, hit);
    return hit;
  }

  private remember(id: string, hit: Cached): void {
    this.cache.delete(id);
    this.cache.set(id, hit);
    if (this.cache.size > CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
  }
}

function parse<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  value: Uint8Array,
): T | undefined {
  try {
    const r = schema.safeParse(JSON.parse(text(value)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
