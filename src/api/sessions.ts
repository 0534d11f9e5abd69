import { randomUUID } from "node:crypto";
import { K } from "../model/keys.js";
import { parseSessionTtl, type CreateSessionInput, type SessionRecord } from "../model/session.js";
import {
  getJson,
  LeaseNotFoundError,
  parseJson,
  NO_LEASE,
  type KeyValue,
  type Store,
} from "../store/index.js";
import type { AuditLog } from "../audit/log.js";
import type { Principal } from "../model/principal.js";
import { HttpError } from "../errors.js";

/** A session as GET shows it: the record, seconds until it expires, and the locks it holds. */
export interface SessionView extends SessionRecord {
  expiresIn: number;
  /** User keys (without the `kv/` prefix) held by this session. */
  locks: string[];
}

export const sessionNotFound = (id: string, field?: string): HttpError =>
  new HttpError(404, "session_not_found", `session ${id} not found (expired or destroyed)`, field);

/**
 * Sessions over the Store. Nothing here is held in memory: a session is its record at
 * `sessions/<id>` plus an index entry `sys/session-leases/<lease>`, both attached to the
 * session's lease, so several API servers on one etcd agree and an expired lease takes the
 * session (and every lock key acquired with it) away in one revision without a reaper.
 */
export class Sessions {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
  ) {}

  /** Grant a lease and write the session bound to it. */
  async create(who: Principal, input: CreateSessionInput): Promise<SessionRecord> {
    const ttl = parseSessionTtl(input.ttl);
    const grant = await this.store.grantLease(ttl);
    const record: SessionRecord = {
      id: randomUUID(),
      name: input.name ?? "",
      ttl: `${grant.ttl}s`,
      behavior: input.behavior ?? "release",
      lease: grant.id,
      createdAt: new Date().toISOString(),
      createdBy: who.name,
    };
    try {
      await this.store.txn({
        success: [
          {
            type: "put",
            key: K.sessions + record.id,
            value: JSON.stringify(record),
            lease: grant.id,
          },
          { type: "put", key: K.sessionLeases + grant.id, value: record.id, lease: grant.id },
          this.audit.entry(who, "session.create", record.id),
        ],
      });
    } catch (err) {
      await this.store.revokeLease(grant.id).catch(() => undefined);
      throw err;
    }
    return record;
  }

  get(id: string): Promise<SessionRecord | undefined> {
    return getJson<SessionRecord>(this.store, K.sessions + id);
  }

  /** The session or a 404 naming `field`. */
  async require(id: string, field?: string): Promise<SessionRecord> {
    const rec = await this.get(id);
    if (rec === undefined) throw sessionNotFound(id, field);
    return rec;
  }

  async list(): Promise<SessionRecord[]> {
    const res = await this.store.range({ prefix: K.sessions });
    return res.kvs.map((kv) => parseJson<SessionRecord>(kv));
  }

  /** The record with its remaining TTL and held locks. */
  async view(rec: SessionRecord): Promise<SessionView> {
    try {
      const info = await this.store.leaseTimeToLive(rec.lease, { keys: true });
      const locks = info.keys.filter((k) => k.startsWith(K.kv)).map((k) => k.slice(K.kv.length));
      return { ...rec, expiresIn: info.ttl, locks };
    } catch (err) {
      if (err instanceof LeaseNotFoundError) throw sessionNotFound(rec.id);
      throw err;
    }
  }

  /** Refresh the session's lease to its full TTL. */
  async renew(id: string): Promise<SessionRecord & { expiresIn: number }> {
    const rec = await this.require(id);
    try {
      return { ...rec, expiresIn: await this.store.keepAlive(rec.lease) };
    } catch (err) {
      if (err instanceof LeaseNotFoundError) throw sessionNotFound(id);
      throw err;
    }
  }

  /**
   * End a session now. Its locks are freed: with behavior "release" the lock keys stay with their
   * values, unheld; with "delete" they are deleted together with the session.
   */
  async destroy(
    who: Principal,
    rec: SessionRecord,
  ): Promise<{ released: string[]; deleted: string[] }> {
    const held = await this.view(rec).then(
      (v) => v.locks,
      () => [] as string[],
    );
    const released: string[] = [];
    if (rec.behavior === "release") {
      for (const user of held) {
        if (await this.detach(who, K.kv + user, rec.lease)) released.push(user);
      }
    }
    try {
      await this.store.revokeLease(rec.lease);
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
      throw sessionNotFound(rec.id); // it expired meanwhile: its keys are gone already
    }
    await this.store.txn({ success: [this.audit.entry(who, "session.destroy", rec.id)] });
    return { released, deleted: rec.behavior === "delete" ? held : [] };
  }

  /** Rewrite a key held with `lease` without the lease (same value): released, not deleted. */
  private async detach(who: Principal, key: string, lease: string): Promise<boolean> {
    const kv = await this.store.get(key);
    if (kv === undefined || kv.lease !== lease) return false;
    const res = await this.store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: kv.modRevision }],
      success: [
        { type: "put", key, value: kv.value },
        this.audit.entry(who, "kv.release", key.slice(K.kv.length)),
      ],
    });
    return res.succeeded;
  }

  /** Which session holds each of these keys (by their lease), for showing lock holders. */
  async holders(kvs: readonly KeyValue[]): Promise<Map<string, string>> {
    const leases = [...new Set(kvs.map((kv) => kv.lease).filter((l) => l !== NO_LEASE))];
    const byLease = new Map<string, string>();
    await Promise.all(
      leases.map(async (lease) => {
        const idx = await this.store.get(K.sessionLeases + lease);
        if (idx !== undefined) byLease.set(lease, Buffer.from(idx.value).toString("utf8"));
      }),
    );
    return byLease;
  }
}
