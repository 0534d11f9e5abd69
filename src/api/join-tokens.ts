import { randomBytes, timingSafeEqual } from "node:crypto";
import { conflict, notFound } from "../errors.js";
import {
  JOIN_TOKENS_PREFIX,
  JoinTokenRecordSchema,
  joinTokenRefusal,
  type JoinKind,
  type JoinTokenRecord,
} from "../model/join-token.js";
import type { Store, TxnOp } from "../store/index.js";
import { text } from "../store/values.js";
import { hashSecret } from "./tokens.js";

/** What a join token is made with. */
export interface JoinTokenSpec {
  ttlMs?: number;
  uses?: number;
  labels: Record<string, string>;
  /** A router or server join token (default: one for agents). */
  kind?: JoinKind;
}

const key = (id: string): string => `${JOIN_TOKENS_PREFIX}${id}`;

/** Join tokens in the Store (hashed secrets), read on use: joins are rare. */
export class JoinTokens {
  constructor(private readonly store: Store) {}

  /** A new join token; its secret is returned once. `also` is written in the same transaction. */
  async create(
    spec: JoinTokenSpec,
    createdBy: string,
    also: (r: JoinTokenRecord) => TxnOp[] = () => [],
  ): Promise<{ record: JoinTokenRecord; secret: string }> {
    const id = randomBytes(6)
      .toString("base64url")
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "0")
      .slice(0, 6);
    const secret = randomBytes(24).toString("base64url");
    const now = new Date();
    const record = JoinTokenRecordSchema.parse({
      id,
      secretHash: hashSecret(secret),
      createdAt: now.toISOString(),
      createdBy,
      ...(spec.ttlMs === undefined
        ? {}
        : { expiresAt: new Date(now.getTime() + spec.ttlMs).toISOString() }),
      ...(spec.uses === undefined ? {} : { uses: spec.uses }),
      used: 0,
      labels: spec.labels,
      ...(spec.kind === undefined || spec.kind === "node" ? {} : { kind: spec.kind }),
    });
    const res = await this.store.txn({
      compare: [{ key: key(id), target: "createRevision", op: "==", value: 0 }],
      success: [{ type: "put", key: key(id), value: JSON.stringify(record) }, ...also(record)],
    });
    if (!res.succeeded) throw conflict("join token id collision; try again");
    return { record, secret };
  }

  async list(): Promise<JoinTokenRecord[]> {
    const r = await this.store.range({ prefix: JOIN_TOKENS_PREFIX });
    return r.kvs.map((kv) => JoinTokenRecordSchema.parse(JSON.parse(text(kv.value))));
  }

  private async read(id: string): Promise<{ record: JoinTokenRecord; rev: number } | undefined> {
    const kv = await this.store.get(key(id));
    if (kv === undefined) return undefined;
    return { record: JoinTokenRecordSchema.parse(JSON.parse(text(kv.value))), rev: kv.modRevision };
  }

  /** Revoke a join token (kept, marked, so a later join says it was revoked). */
  async revoke(
    id: string,
    also: (r: JoinTokenRecord) => TxnOp[] = () => [],
  ): Promise<JoinTokenRecord> {
    const cur = await this.read(id);
    if (cur === undefined) throw notFound(`no join token ${id}`);
    const record = { ...cur.record, revokedAt: cur.record.revokedAt ?? new Date().toISOString() };
    const res = await this.store.txn({
      compare: [{ key: key(id), target: "modRevision", op: "==", value: cur.rev }],
      success: [{ type: "put", key: key(id), value: JSON.stringify(record) }, ...also(record)],
    });
    if (!res.succeeded) throw conflict(`join token ${id} changed meanwhile; try again`);
    return record;
  }

  /**
   * Whether a join token may be used now, without using it: a joiner whose join may still be
   * refused (a server's, while another server is joining) checks first and redeems once it is in.
   */
  async check(
    id: string,
    secret: string,
    kind: JoinKind,
  ): Promise<{ ok: JoinTokenRecord } | { bad: true } | { refused: string }> {
    const cur = await this.read(id);
    if (cur === undefined || !sameHash(cur.record.secretHash, hashSecret(secret)))
      return { bad: true };
    const refusal = joinTokenRefusal(cur.record, new Date(), kind);
    return refusal === undefined ? { ok: cur.record } : { refused: refusal };
  }

  /**
   * Use a join token once: `bad` when the id or secret is wrong, `refused` with the reason when it
   * is revoked, expired, used up or for another kind of joiner (a router's, used by an agent). The use is counted in one guarded transaction with `also`
   * (the node token), so two agents cannot both take a token's last use.
   */
  async redeem(
    id: string,
    secret: string,
    also: (r: JoinTokenRecord) => TxnOp[] = () => [],
    kind: JoinKind = "node",
  ): Promise<{ ok: JoinTokenRecord } | { bad: true } | { refused: string }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.read(id);
      if (cur === undefined || !sameHash(cur.record.secretHash, hashSecret(secret)))
        return { bad: true };
      const refusal = joinTokenRefusal(cur.record, new Date(), kind);
      if (refusal !== undefined) return { refused: refusal };
      const record = { ...cur.record, used: cur.record.used + 1 };
      const res = await this.store.txn({
        compare: [{ key: key(id), target: "modRevision", op: "==", value: cur.rev }],
        success: [{ type: "put", key: key(id), value: JSON.stringify(record) }, ...also(record)],
      });
      if (res.succeeded) return { ok: record };
    }
    throw conflict(`join token ${id} is busy; try again`);
  }
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
