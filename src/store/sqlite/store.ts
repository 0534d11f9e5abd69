import { isGantryError } from "../../errors.js";
import { UnavailableError } from "../errors.js";
import { checkRevision, keyBytes, toByteRange } from "../keys.js";
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
  StoreStatus,
  TxnRequest,
  TxnResult,
  Watch,
  WatchOptions,
} from "../types.js";
import { Compactor } from "./compaction.js";
import { GroupCommit, type Queued } from "./group-commit.js";
import { LeaseTable } from "./leases.js";
import type { LockedDb } from "./lock.js";
import { Reader, type Revisions } from "./reads.js";
import type { Statements } from "./statements.js";
import { checkDelete, checkPut, checkRead, checkTtl, checkTxn, parseLeaseId } from "./validate.js";
import { WatchHub } from "./watch-hub.js";
import { Writer, type WriteOp } from "./writes.js";

/** The embedded Store: see index.ts for how one is opened. */
export class SqliteStore implements Store {
  readonly backend = "sqlite" as const;
  private readonly revs: Revisions;
  private readonly leaseTable: LeaseTable;
  private readonly reader: Reader;
  private readonly writer: Writer;
  private readonly hub: WatchHub;
  private readonly writes: GroupCommit<WriteOp>;
  private readonly compactor: Compactor;
  private closed = false;

  constructor(
    private readonly lock: LockedDb,
    private readonly st: Statements,
  ) {
    const compactRev = (st.getMeta.get("compact_rev") as number | undefined) ?? 0;
    const lastWrite = (st.maxRev.get() as number | null) ?? 0;
    // An empty store is at revision 1, as an empty etcd is; the first write makes it 2.
    this.revs = { rev: Math.max(1, lastWrite, compactRev), compactRev };
    this.leaseTable = new LeaseTable((ids) => this.expire(ids));
    this.loadLeases();
    this.hub = new WatchHub(st, this.revs, () => this.closed);
    this.reader = new Reader(st, this.revs);
    this.writer = new Writer(st, this.revs, this.leaseTable, this.reader, this.hub);
    this.writes = new GroupCommit<WriteOp>((batch) => this.commit(batch));
    this.compactor = new Compactor(lock.db, st, this.revs, () => this.closed);
    if (this.compactor.behind()) void this.compactor.run().catch(() => undefined);
  }

  async get(
    key: string,
    opts?: Omit<RangeOptions, "limit" | "countOnly">,
  ): Promise<KeyValue | undefined> {
    this.ensureOpen();
    const k = keyBytes(key);
    const spec = checkRead({ start: k, end: undefined }, opts);
    return this.reader.get(k, spec.revision, spec.keysOnly);
  }

  async range(range: KeyRange, opts?: RangeOptions): Promise<RangeResult> {
    this.ensureOpen();
    return this.reader.range(checkRead(toByteRange(range), opts));
  }

  async put(key: string, value: Uint8Array | string, opts?: PutOptions): Promise<PutResult> {
    this.ensureOpen();
    return this.writes.submit({ kind: "put", spec: checkPut(key, value, opts) });
  }

  async delete(range: KeyRange, opts?: DeleteOptions): Promise<DeleteResult> {
    this.ensureOpen();
    return this.writes.submit({ kind: "delete", spec: checkDelete(range, opts) });
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    this.ensureOpen();
    return this.writes.submit({ kind: "txn", spec: checkTxn(req) });
  }

  async grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    this.ensureOpen();
    return this.writes.submit({ kind: "grant", ttl: checkTtl(ttlSeconds) });
  }

  async keepAlive(id: LeaseId): Promise<number> {
    this.ensureOpen();
    return this.writes.submit({ kind: "keepAlive", id: parseLeaseId(id, "id") });
  }

  async revokeLease(id: LeaseId): Promise<void> {
    this.ensureOpen();
    return this.writes.submit({
      kind: "revoke",
      id: parseLeaseId(id, "id"),
      onlyIfExpiring: false,
    });
  }

  async leaseTimeToLive(id: LeaseId, opts?: { keys?: boolean }): Promise<LeaseInfo> {
    this.ensureOpen();
    return this.writes.submit({
      kind: "timeToLive",
      id: parseLeaseId(id, "id"),
      keys: opts?.keys === true,
    });
  }

  async leases(): Promise<LeaseId[]> {
    this.ensureOpen();
    return this.writes.submit({ kind: "leases" });
  }

  watch(range: KeyRange, opts?: WatchOptions): Watch {
    const r = toByteRange(range);
    const start =
      opts?.startRevision === undefined ? 0 : checkRevision(opts.startRevision, "startRevision");
    return this.hub.watch(r, start, opts?.prevKv === true);
  }

  async compact(revision: number): Promise<void> {
    this.ensureOpen();
    await this.writes.submit({ kind: "compact", rev: checkRevision(revision) });
    await this.compactor.run();
  }

  async status(): Promise<StoreStatus> {
    this.ensureOpen();
    return { backend: "sqlite", revision: this.revs.rev, compactRevision: this.revs.compactRev };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.writes.flush();
    this.closed = true;
    this.leaseTable.stop();
    this.hub.endAll();
    this.lock.release();
  }

  private ensureOpen(): void {
    if (this.closed) throw new UnavailableError("the store is closed");
  }

  /** Apply a group of writes in one transaction (see group-commit.ts). */
  private commit(batch: Queued<WriteOp>[]): void {
    const before = {
      rev: this.revs.rev,
      compactRev: this.revs.compactRev,
      nextLease: this.leaseTable.nextNum,
    };
    const writer = this.writer;
    writer.events = [];
    try {
      this.st.begin.run();
      for (const q of batch) {
        const rev = this.revs.rev;
        const events = writer.events.length;
        try {
          q.result = writer.apply(q.op);
        } catch (err) {
          // Refused before it wrote anything (all checks come first): it fails alone.
          if (isGantryError(err) && this.revs.rev === rev && writer.events.length === events)
            q.error = err;
          else throw err;
        }
      }
      this.st.commit.run();
    } catch (err) {
      if (this.lock.db.inTransaction) this.st.rollback.run();
      this.revs.rev = before.rev;
      this.revs.compactRev = before.compactRev;
      this.leaseTable.nextNum = before.nextLease;
      this.loadLeases();
      writer.events = [];
      throw new UnavailableError("the store could not commit a write", err);
    }
    if (writer.events.length > 0) this.hub.dispatch(writer.events);
    writer.events = [];
  }

  /** (Re)build the lease table from the database. */
  private loadLeases(): void {
    this.leaseTable.nextNum = (this.st.getMeta.get("next_lease") as number | undefined) ?? 1;
    this.leaseTable.load(
      this.st.allLeases.all() as { id: number; ttl: number }[],
      this.st.leaseAttachments.all() as { key: Buffer; lease: number }[],
    );
  }

  /** The expiry clock's callback: revoke each expired lease at its own revision. */
  private expire(ids: LeaseId[]): void {
    if (this.closed) return;
    for (const id of ids) {
      // Revoked meanwhile by a client: nothing left to do.
      this.writes.submit({ kind: "revoke", id, onlyIfExpiring: true }).catch(() => undefined);
    }
  }
}
