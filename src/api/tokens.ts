import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { ValidationError, notFound, conflict } from "../errors.js";
import { AuthFailureLimiter } from "./auth-limiter.js";
import { K } from "../model/keys.js";
import { TokenRecordSchema, type Policy, type TokenRecord } from "../model/token.js";
import { CompactedError, type Store, type TxnOp } from "../store/index.js";
import { text } from "../store/values.js";

/** What a token may carry besides its policies: its role, a deployer's apps, its expiry. */
export type TokenExtra = Partial<Pick<TokenRecord, "role" | "apps" | "expiresAt">>;

export const hashSecret = (secret: string): string =>
  createHash("sha256").update(secret).digest("hex");

/** A fresh token secret: `gty_` and 32 random bytes, base64url. */
export const newSecret = (): string => `gty_${randomBytes(32).toString("base64url")}`;

/**
 * Tokens live in the Store (hashed); every server keeps an in-memory index by hash, fed by a
 * watch on the tokens prefix, so authenticating a request costs one hash and one map lookup and
 * a revocation on any server takes effect on all of them.
 */
export class TokenRegistry {
  private readonly byHash = new Map<string, TokenRecord>();
  private readonly byId = new Map<string, TokenRecord>();
  /** Each token's store revision (for plans pinned to revisions: docs/stack.md). */
  private readonly revisions = new Map<string, number>();
  private watchLoop: Promise<void> | undefined;
  private stopped = false;
  private cancelWatch: (() => void) | undefined;

  /** Failed authentications per client address (src/api/auth.ts answers 429 past the limit). */
  failures = new AuthFailureLimiter();

  constructor(private readonly store: Store) {}

  /** Load every token and keep following changes. */
  async start(): Promise<void> {
    const snapshot = await this.store.range({ prefix: K.tokens });
    for (const kv of snapshot.kvs) this.remember(kv.key, kv.value, kv.modRevision);
    this.watchLoop = this.follow(snapshot.revision + 1);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelWatch?.();
    await this.watchLoop;
  }

  private async follow(from: number): Promise<void> {
    let next = from;
    while (!this.stopped) {
      const watch = this.store.watch({ prefix: K.tokens }, { startRevision: next });
      this.cancelWatch = () => watch.cancel();
      try {
        for await (const batch of watch) {
          for (const e of batch) {
            if (e.type === "put") this.remember(e.kv.key, e.kv.value, e.kv.modRevision);
            else this.forget(e.kv.key.slice(K.tokens.length));
            next = e.kv.modRevision + 1;
          }
        }
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof CompactedError) {
          // Missed history: reload everything, then follow from there.
          const snapshot = await this.store.range({ prefix: K.tokens });
          this.byHash.clear();
          this.byId.clear();
          this.revisions.clear();
          for (const kv of snapshot.kvs) this.remember(kv.key, kv.value, kv.modRevision);
          next = snapshot.revision + 1;
        } else {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  }

  private remember(_key: string, value: Uint8Array, modRevision: number): void {
    const parsed = TokenRecordSchema.safeParse(JSON.parse(text(value)));
    if (!parsed.success) return; // a foreign or damaged record never authenticates anyone
    const old = this.byId.get(parsed.data.id);
    // The watch may replay a write this server already applied: never step back.
    if (old !== undefined && (this.revisions.get(parsed.data.id) ?? 0) > modRevision) return;
    if (old !== undefined) this.byHash.delete(old.secretHash);
    this.byId.set(parsed.data.id, parsed.data);
    this.byHash.set(parsed.data.secretHash, parsed.data);
    this.revisions.set(parsed.data.id, modRevision);
  }

  private forget(id: string): void {
    const old = this.byId.get(id);
    if (old === undefined) return;
    this.byId.delete(id);
    this.byHash.delete(old.secretHash);
    this.revisions.delete(id);
  }

  /** The store revision of a token's record as this server last saw it. */
  revisionOf(id: string): number {
    return this.revisions.get(id) ?? 0;
  }

  /** The token a secret belongs to, or undefined. */
  authenticate(secret: string): TokenRecord | undefined {
    const hash = hashSecret(secret);
    const rec = this.byHash.get(hash);
    if (rec === undefined) return undefined;
    // The map lookup already matched; compare in constant time anyway for defence in depth.
    return timingSafeEqual(Buffer.from(rec.secretHash), Buffer.from(hash)) ? rec : undefined;
  }

  list(): TokenRecord[] {
    return [...this.byId.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Find by id or by name. */
  find(idOrName: string): TokenRecord | undefined {
    return this.byId.get(idOrName) ?? [...this.byId.values()].find((t) => t.name === idOrName);
  }

  /**
   * Create a token; the secret is returned once and never stored. Names are unique. `also` is
   * written in the same transaction (the API's audit entry: both or neither).
   */
  async create(
    name: string,
    policies: Policy[],
    createdBy: string,
    secret = newSecret(),
    also: (record: TokenRecord) => TxnOp[] = () => [],
    extra: TokenExtra = {},
  ): Promise<{ record: TokenRecord; secret: string }> {
    const id = `tok_${randomBytes(8).toString("hex")}`;
    const record = TokenRecordSchema.parse({
      id,
      name,
      secretHash: hashSecret(secret),
      policies,
      createdAt: new Date().toISOString(),
      createdBy,
      ...extra,
    });
    const existing = await this.store.range({ prefix: K.tokens });
    for (const kv of existing.kvs) {
      const other = TokenRecordSchema.safeParse(JSON.parse(text(kv.value)));
      if (other.success && other.data.name === name)
        throw conflict(`a token named "${name}" already exists`);
    }
    // Guard on the revision we checked names at, so two concurrent creates cannot both win.
    const res = await this.store.txn({
      compare: [{ key: `${K.tokens}${id}`, target: "createRevision", op: "==", value: 0 }],
      success: [
        { type: "put", key: `${K.tokens}${id}`, value: JSON.stringify(record) },
        ...also(record),
      ],
    });
    if (!res.succeeded) throw conflict("token id collision; try again");
    this.remember(`${K.tokens}${id}`, Buffer.from(JSON.stringify(record)), res.revision);
    return { record, secret };
  }

  /**
   * Replace a token's policies (its secret and expiry stay, its role goes); `also` is written in
   * the same transaction.
   * Guarded by the revision it was read at, so a concurrent revoke is not undone.
   */
  async update(
    idOrName: string,
    policies: Policy[],
    also: (record: TokenRecord) => TxnOp[] = () => [],
  ): Promise<TokenRecord> {
    const rec = this.find(idOrName);
    if (rec === undefined) throw notFound(`token "${idOrName}"`);
    const key = `${K.tokens}${rec.id}`;
    const cur = await this.store.get(key);
    if (cur === undefined) throw notFound(`token "${idOrName}"`);
    const stored = TokenRecordSchema.parse(JSON.parse(text(cur.value)));
    // Its own policies now: no longer what a role (and a deployer's apps) named.
    const { role: _role, apps: _apps, ...rest } = stored;
    const next = TokenRecordSchema.parse({ ...rest, policies });
    const res = await this.store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: cur.modRevision }],
      success: [{ type: "put", key, value: JSON.stringify(next) }, ...also(next)],
    });
    if (!res.succeeded) throw conflict(`token "${idOrName}" changed meanwhile; try again`);
    this.remember(key, Buffer.from(JSON.stringify(next)), res.revision);
    return next;
  }

  /**
   * Give a token a new secret (returned once): the old one stops working as soon as the record
   * changes (here at once, on other servers when their watch sees it).
   */
  async rotate(
    idOrName: string,
    also: (record: TokenRecord) => TxnOp[] = () => [],
  ): Promise<{ record: TokenRecord; secret: string }> {
    const rec = this.find(idOrName);
    if (rec === undefined) throw notFound(`token "${idOrName}"`);
    const key = `${K.tokens}${rec.id}`;
    const cur = await this.store.get(key);
    if (cur === undefined) throw notFound(`token "${idOrName}"`);
    const secret = newSecret();
    const stored = TokenRecordSchema.parse(JSON.parse(text(cur.value)));
    const next = TokenRecordSchema.parse({ ...stored, secretHash: hashSecret(secret) });
    const res = await this.store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: cur.modRevision }],
      success: [{ type: "put", key, value: JSON.stringify(next) }, ...also(next)],
    });
    if (!res.succeeded) throw conflict(`token "${idOrName}" changed meanwhile; try again`);
    this.remember(key, Buffer.from(JSON.stringify(next)), res.revision);
    return { record: next, secret };
  }

  /** Revoke by id or name; `also` is written in the same transaction. */
  async revoke(
    idOrName: string,
    also: (record: TokenRecord) => TxnOp[] = () => [],
  ): Promise<TokenRecord> {
    if (idOrName === "") throw new ValidationError("a token id or name is required", "token");
    const rec = this.find(idOrName);
    if (rec === undefined) throw notFound(`token "${idOrName}"`);
    const key = `${K.tokens}${rec.id}`;
    const res = await this.store.txn({
      compare: [{ key, target: "version", op: ">", value: 0 }],
      success: [{ type: "delete", range: key }, ...also(rec)],
    });
    this.forget(rec.id);
    // Revoked meanwhile (by another server): gone all the same, and nothing to record.
    if (!res.succeeded) throw notFound(`token "${idOrName}"`);
    return rec;
  }
}
