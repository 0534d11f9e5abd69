import type { CallOptions } from "@grpc/grpc-js";
import type { Etcd3, IRangeRequest, IResponseHeader, ITxnRequest } from "etcd3";
import {
  CompactedError,
  FutureRevisionError,
  LeaseNotFoundError,
  UnavailableError,
} from "../errors.js";
import { checkRevision, toByteRange } from "../keys.js";
import type {
  DeleteOptions,
  DeleteResult,
  KeyRange,
  KeyValue,
  LeaseGrant,
  LeaseId,
  LeaseInfo,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  Store,
  StoreDegraded,
  StoreStatus,
  TxnRequest,
  TxnResult,
  Watch,
  WatchOptions,
} from "../types.js";
import { WatchQueue } from "../watch-queue.js";
import { probeCompactRevision } from "./compact-probe.js";
import { RpcFailure, type EtcdConnection } from "./connection.js";
import {
  etcdRange,
  num,
  opResult,
  optionalKv,
  revisionOf,
  toKeyValue,
  toRangeResult,
} from "./convert.js";
import { KeepAliveStream } from "./keepalive.js";
import { QuorumGuard } from "./quorum-guard.js";
import { QuorumProbe } from "./quorum.js";
import {
  deleteRequest,
  leaseId,
  leaseTtl,
  putRequest,
  rangeRequest,
  revisionArg,
  txnRequest,
} from "./requests.js";
import { EtcdWatch } from "./watch.js";

/** What an etcd answer is about, to turn it into the right Gantry error. */
interface Context {
  revision?: number;
  lease?: string;
}

/** A key no Gantry record uses; status() reads it to learn the revision. */
const PROBE = { key: Buffer.from([0]) };

/** How often the store looks for members that joined (etcd's Go client: AutoSyncInterval). */
const MEMBER_SYNC_MS = 5_000;

/** Physical compaction of a large keyspace takes a while. */
const COMPACT_TIMEOUT_MS = 120_000;

export interface EtcdStoreSettings {
  /** How long a watch keeps trying to reach etcd again before failing (default 60 s). */
  watchGiveUpMs?: number;
}

/** The Store on an etcd cluster (see types.ts for the contract). */
export class EtcdStore implements Store {
  readonly backend = "etcd" as const;
  private readonly conn: EtcdConnection;
  private readonly keepAlives: KeepAliveStream;
  private readonly watches = new Set<EtcdWatch>();
  private readonly watchGiveUpMs: number;
  private readonly quorum: QuorumProbe;
  private readonly guard: QuorumGuard;
  private readonly memberSync: NodeJS.Timeout;
  /** The highest compact revision seen: ours, or reported by etcd. */
  private knownCompact = 0;

  constructor(conn: EtcdConnection, opts: EtcdStoreSettings = {}) {
    this.conn = conn;
    this.keepAlives = new KeepAliveStream(conn);
    this.watchGiveUpMs = opts.watchGiveUpMs ?? 60_000;
    this.quorum = new QuorumProbe(conn);
    this.guard = new QuorumGuard(this.quorum);
    // Members that join later become endpoints too (a server that joined a cluster of one
    // would otherwise lose the store with the member it joined through).
    void conn.syncMembers();
    this.memberSync = setInterval(() => void conn.syncMembers(), MEMBER_SYNC_MS);
    this.memberSync.unref();
  }

  /** Set while quorum is lost: reads are then served by one member and may be stale. */
  get degraded(): StoreDegraded | undefined {
    return this.guard.degraded;
  }

  /** The member requests go to now (for diagnostics and failover tests). */
  get endpoint(): string {
    return this.conn.endpoint;
  }

  /** Every member URL this store was opened on (the cluster's membership API uses them too). */
  get endpoints(): readonly string[] {
    return this.conn.endpoints;
  }

  async get(
    key: string,
    opts?: Omit<RangeOptions, "limit" | "countOnly">,
  ): Promise<KeyValue | undefined> {
    const o = opts ?? {};
    const { req, revision } = rangeRequest(
      key,
      { revision: o.revision, keysOnly: o.keysOnly },
      "key",
    );
    const res = await this.read((c, co, local) => c.kv.range(serializable(req, local), co), {
      revision,
    });
    const kv = res.kvs?.[0];
    return kv === undefined ? undefined : toKeyValue(kv);
  }

  async range(range: KeyRange, opts?: RangeOptions): Promise<RangeResult> {
    const { req, revision } = rangeRequest(range, opts);
    const res = await this.read((c, co, local) => c.kv.range(serializable(req, local), co), {
      revision,
    });
    return toRangeResult(res, revision);
  }

  async put(key: string, value: Uint8Array | string, opts?: PutOptions): Promise<PutResult> {
    const req = putRequest(key, value, opts);
    const res = await this.call((c, co) => c.kv.put(req, co), {
      idempotent: false,
      lease: req.lease === undefined ? undefined : String(req.lease),
    });
    const prevKv = optionalKv(res.prev_kv);
    const out: PutResult = { revision: revisionOf(res.header) };
    if (prevKv !== undefined) out.prevKv = prevKv;
    return out;
  }

  async delete(range: KeyRange, opts?: DeleteOptions): Promise<DeleteResult> {
    const { req } = deleteRequest(range, opts);
    const res = await this.call((c, co) => c.kv.deleteRange(req, co), { idempotent: false });
    return {
      revision: revisionOf(res.header),
      deleted: num(res.deleted),
      prevKvs: req.prev_kv === true ? (res.prev_kvs ?? []).map(toKeyValue) : [],
    };
  }

  async txn(t: TxnRequest): Promise<TxnResult> {
    const { req, success, failure } = txnRequest(t);
    const writes = [...success, ...failure].some((k) => k !== "get");
    const leases = [...(req.success ?? []), ...(req.failure ?? [])]
      .map((op) => op.request_put?.lease)
      .filter((l) => l !== undefined);
    const res = writes
      ? await this.call((c, co) => c.kv.txn(req, co), {
          idempotent: false,
          lease: leases.length > 0 ? String(leases[0]) : undefined,
        })
      : await this.read((c, co, local) => c.kv.txn(local ? serializableTxn(req) : req, co), {});
    const revision = revisionOf(res.header);
    const kinds = res.succeeded ? success : failure;
    return {
      succeeded: res.succeeded === true,
      revision,
      results: kinds.map((kind, i) => opResult(kind, res.responses?.[i], revision)),
    };
  }

  async grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    const ttl = leaseTtl(ttlSeconds);
    const res = await this.call((c, co) => c.leaseClient.leaseGrant({ TTL: ttl }, co), {
      idempotent: false,
    });
    if (res.error) throw new UnavailableError(`etcd could not grant a lease: ${res.error}`);
    return { id: String(res.ID), ttl: num(res.TTL) };
  }

  async keepAlive(id: LeaseId): Promise<number> {
    const lease = leaseId(id, "id");
    const ttl = await this.guard.write(() => this.keepAlives.refresh(lease));
    if (ttl <= 0) throw new LeaseNotFoundError(lease);
    return ttl;
  }

  async revokeLease(id: LeaseId): Promise<void> {
    const lease = leaseId(id, "id");
    await this.call((c, co) => c.leaseClient.leaseRevoke({ ID: lease }, co), {
      idempotent: false,
      lease,
    });
  }

  async leaseTimeToLive(id: LeaseId, opts?: { keys?: boolean }): Promise<LeaseInfo> {
    const lease = leaseId(id, "id");
    const keys = opts?.keys === true;
    const res = await this.call((c, co) => c.leaseClient.leaseTimeToLive({ ID: lease, keys }, co), {
      idempotent: true,
      lease,
    });
    // etcd answers TTL -1 for a lease it does not know.
    const ttl = num(res.TTL);
    if (ttl < 0) throw new LeaseNotFoundError(lease);
    return {
      id: lease,
      ttl,
      grantedTtl: num(res.grantedTTL),
      keys: keys ? (res.keys ?? []).map((k) => k.toString("utf8")) : [],
    };
  }

  async leases(): Promise<LeaseId[]> {
    const res = await this.call((c, co) => c.leaseClient.leaseLeases(co), { idempotent: true });
    return (res.leases ?? []).map((l) => String(l.ID));
  }

  watch(range: KeyRange, opts?: WatchOptions): Watch {
    const bytes = toByteRange(range, "range");
    const startRevision = revisionArg(opts?.startRevision, "startRevision");
    if (this.conn.isClosed) {
      const dead = new WatchQueue(() => undefined);
      dead.fail(new UnavailableError("the etcd store is closed"));
      return dead;
    }
    const w: EtcdWatch = new EtcdWatch(this.conn, {
      ...etcdRange(bytes),
      startRevision,
      prevKv: opts?.prevKv === true,
      giveUpMs: this.watchGiveUpMs,
      onCompacted: (rev) => this.sawCompact(rev),
      onEnd: () => this.watches.delete(w),
    });
    this.watches.add(w);
    return w.queue;
  }

  async compact(revision: number): Promise<void> {
    const rev = checkRevision(revision);
    await this.call((c, co) => c.kv.compact({ revision: rev, physical: true }, co), {
      idempotent: false,
      revision: rev,
      timeoutMs: Math.max(COMPACT_TIMEOUT_MS, this.conn.requestTimeoutMs),
    });
    this.sawCompact(rev);
  }

  async status(): Promise<StoreStatus> {
    // One read at the highest compact revision we know both gives the current revision and
    // tells whether someone compacted further since; only then ask etcd for the new one.
    const at = Math.max(1, this.knownCompact);
    try {
      const res = await this.guard.read(
        (token, local) =>
          this.conn.unary(
            (c, co) =>
              c.kv.range({ ...PROBE, revision: at, count_only: true, serializable: local }, co),
            { idempotent: true, token, local },
          ),
        (r) => revisionOf(r.header),
      );
      return {
        backend: "etcd",
        revision: revisionOf(res.header),
        compactRevision: this.knownCompact,
      };
    } catch (err) {
      if (!(err instanceof RpcFailure) || err.rpc.kind !== "compacted")
        throw await this.mapError(err, {});
      const [compactRevision, revision] = await Promise.all([
        this.compactRevisionAbove(at),
        this.currentRevision(),
      ]);
      return { backend: "etcd", revision, compactRevision };
    }
  }

  async close(): Promise<void> {
    if (this.conn.isClosed) return;
    clearInterval(this.memberSync);
    this.guard.close();
    this.quorum.close();
    this.conn.close();
    this.keepAlives.close();
    const closed = new UnavailableError("the etcd store is closed");
    for (const w of [...this.watches]) w.fail(closed);
    this.watches.clear();
  }

  private sawCompact(rev: number): void {
    if (rev > this.knownCompact) this.knownCompact = rev;
  }

  private async currentRevision(): Promise<number> {
    const res = await this.read(
      (c, co, local) => c.kv.range({ ...PROBE, count_only: true, serializable: local }, co),
      {},
    );
    return revisionOf(res.header);
  }

  /** The compact revision, knowing that `rev` is below it. */
  private async compactRevisionAbove(rev: number): Promise<number> {
    const probed = await probeCompactRevision(this.conn, rev).catch(() => undefined);
    if (probed !== undefined) this.sawCompact(probed);
    return Math.max(this.knownCompact, probed ?? rev + 1);
  }

  /**
   * Run a request that needs the leader (see EtcdConnection.unary, QuorumGuard.write) and map
   * etcd's answers to Gantry errors.
   */
  private async call<T>(
    run: (client: Etcd3, opts: CallOptions) => Promise<T>,
    ctx: Context & { idempotent: boolean; timeoutMs?: number },
  ): Promise<T> {
    try {
      return await this.guard.write((token) => this.conn.unary(run, { ...ctx, token }));
    } catch (err) {
      throw await this.mapError(err, ctx);
    }
  }

  /**
   * A read: linearizable, or while quorum is lost served by one member (`local`: the request
   * must then ask for a serializable read), see QuorumGuard.read.
   */
  private async read<T extends { header?: IResponseHeader | null }>(
    run: (client: Etcd3, opts: CallOptions, local: boolean) => Promise<T>,
    ctx: Context,
  ): Promise<T> {
    try {
      return await this.guard.read(
        (token, local) =>
          this.conn.unary((c, co) => run(c, co, local), { idempotent: true, token, local }),
        (res) => revisionOf(res.header),
      );
    } catch (err) {
      throw await this.mapError(err, ctx);
    }
  }

  private async mapError(err: unknown, ctx: Context): Promise<unknown> {
    if (!(err instanceof RpcFailure)) return err;
    const requested = ctx.revision ?? 0;
    switch (err.rpc.kind) {
      case "compacted":
        return new CompactedError(requested, await this.compactRevisionAbove(requested));
      case "future-revision":
        return new FutureRevisionError(requested, await this.currentRevision().catch(() => 0));
      case "lease-not-found":
        return new LeaseNotFoundError(ctx.lease ?? "0");
      default:
        return err;
    }
  }
}

/** A range request served by the member alone when `local`. */
function serializable(req: IRangeRequest, local: boolean): IRangeRequest {
  return local ? { ...req, serializable: true } : req;
}

/** A read-only transaction served by the member alone: each of its ranges serializable. */
function serializableTxn(req: ITxnRequest): ITxnRequest {
  const local = (ops: ITxnRequest["success"]): ITxnRequest["success"] =>
    ops?.map((op) =>
      op.request_range ? { request_range: { ...op.request_range, serializable: true } } : op,
    );
  return { ...req, success: local(req.success), failure: local(req.failure) };
}
