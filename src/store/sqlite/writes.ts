import { CompactedError, FutureRevisionError, LeaseNotFoundError } from "../errors.js";
import {
  NO_LEASE,
  type DeleteResult,
  type KeyValue,
  type LeaseGrant,
  type LeaseId,
  type PutResult,
  type TxnOpResult,
  type TxnResult,
} from "../types.js";
import type { LeaseTable } from "./leases.js";
import type { Reader, Revisions } from "./reads.js";
import {
  EMPTY_VALUE,
  hubEvent,
  kvFromCurrent,
  leaseId,
  tombstoneKv,
  type HubEvent,
} from "./rows.js";
import type { CurrentRow, KeyedCurrentRow, RangeParams, Statements } from "./statements.js";
import {
  compareLeaseIds,
  type CompareSpec,
  type DeleteSpec,
  type PutSpec,
  type TxnSpec,
} from "./validate.js";

/** An operation waiting for the group commit. */
export type WriteOp =
  | { kind: "put"; spec: PutSpec }
  | { kind: "delete"; spec: DeleteSpec }
  | { kind: "txn"; spec: TxnSpec }
  | { kind: "grant"; ttl: number }
  | { kind: "revoke"; id: LeaseId; onlyIfExpiring: boolean }
  | { kind: "keepAlive"; id: LeaseId }
  | { kind: "timeToLive"; id: LeaseId; keys: boolean }
  | { kind: "leases" }
  | { kind: "compact"; rev: number };

/** What the writer needs to know about watchers. */
export interface EventSink {
  readonly active: boolean;
  readonly prevKvWatchers: number;
}

/**
 * Applies writes inside the group commit's SQLite transaction: each write that changes something
 * takes the next revision, appends its rows to `log`, updates `current`, and records the events
 * the watch hub will deliver after the commit. Every check that can reject a write runs before
 * its first row is written, so a rejected write leaves nothing behind.
 */
export class Writer {
  /** Events of the group so far, in revision order. */
  events: HubEvent[] = [];
  /** The revision of the write in progress; 0 until it writes a row. */
  private opRev = 0;
  private sub = 0;
  private readonly p: RangeParams = {
    start: EMPTY_VALUE,
    end: EMPTY_VALUE,
    rev: 0,
    sub: 0,
    to: 0,
    limit: -1,
  };

  constructor(
    private readonly st: Statements,
    private readonly revs: Revisions,
    private readonly leases: LeaseTable,
    private readonly reader: Reader,
    private readonly sink: EventSink,
  ) {}

  /** Apply one write; its result is what the caller's promise resolves to. */
  apply(op: WriteOp): unknown {
    this.opRev = 0;
    switch (op.kind) {
      case "put":
        return this.put(op.spec);
      case "delete":
        return this.delete(op.spec);
      case "txn":
        return this.txn(op.spec);
      case "grant":
        return this.grant(op.ttl);
      case "revoke":
        return this.revoke(op.id, op.onlyIfExpiring);
      // Lease reads and keep-alives change nothing on disk; they are queued only so that they
      // take effect in call order with the writes around them (a revoke then a keep-alive fails).
      case "keepAlive":
        return this.leases.keepAlive(op.id);
      case "timeToLive":
        return this.leases.timeToLive(op.id, op.keys);
      case "leases":
        return this.leases.ids();
      case "compact":
        return this.compact(op.rev);
    }
  }

  private nextRev(): number {
    if (this.opRev === 0) {
      this.opRev = ++this.revs.rev;
      this.sub = 0;
    }
    return this.opRev;
  }

  private put(spec: PutSpec): PutResult {
    const lease = spec.lease === NO_LEASE ? 0 : this.leases.live(spec.lease).num;
    const prevKv = this.putKey(spec, lease);
    return prevKv !== undefined && spec.prevKv
      ? { revision: this.opRev, prevKv }
      : { revision: this.opRev };
  }

  private delete(spec: DeleteSpec): DeleteResult {
    const prevKvs: KeyValue[] = [];
    const deleted = this.deleteRange(spec, prevKvs);
    return { revision: this.revs.rev, deleted, prevKvs };
  }

  /** Write one key; returns its previous KeyValue when the caller or a watcher wants it. */
  private putKey(spec: PutSpec, lease: number): KeyValue | undefined {
    const wantPrev = spec.prevKv || this.sink.prevKvWatchers > 0;
    const cur = (wantPrev ? this.st.getCurrentWithValue : this.st.getCurrent).get(spec.key) as
      | CurrentRow
      | undefined;
    const rev = this.nextRev();
    let createRev = rev;
    let version = 1;
    let prevRev = 0;
    let oldLease = 0;
    if (cur !== undefined) {
      createRev = cur.create_rev;
      version = cur.version + 1;
      prevRev = cur.mod_rev;
      oldLease = cur.lease;
    }
    this.st.insertLog.run(
      rev,
      this.sub++,
      spec.key,
      0,
      createRev,
      prevRev,
      version,
      lease,
      spec.value,
    );
    this.st.putCurrent.run(spec.key, createRev, rev, version, lease, spec.value);
    if (oldLease !== lease) {
      if (oldLease !== 0) this.leases.detach(oldLease, spec.keyStr);
      if (lease !== 0) this.leases.attach(lease, spec.keyStr);
    }
    const prevKv = cur !== undefined && wantPrev ? kvFromCurrent(spec.keyStr, cur) : undefined;
    if (this.sink.active) {
      const kv: KeyValue = {
        key: spec.keyStr,
        value: spec.value,
        createRevision: createRev,
        modRevision: rev,
        version,
        lease: spec.lease,
      };
      this.events.push(hubEvent("put", rev, spec.key, kv, prevKv));
    }
    return prevKv;
  }

  /** Delete every live key in the range at one revision; returns how many. */
  private deleteRange(spec: DeleteSpec, prevKvs: KeyValue[]): number {
    const wantPrev = spec.prevKv || this.sink.prevKvWatchers > 0;
    const r = spec.range;
    let rows: KeyedCurrentRow[];
    if (r.end === undefined) {
      const row = (wantPrev ? this.st.getCurrentWithValue : this.st.getCurrent).get(r.start) as
        | KeyedCurrentRow
        | undefined;
      if (row === undefined) return 0;
      row.key = r.start;
      row.keyStr = r.start.toString("utf8");
      rows = [row];
    } else {
      const s = this.st.range(r);
      this.p.start = r.start;
      this.p.end = r.end;
      rows = (wantPrev ? s.forDeleteWithValue : s.forDelete).all(this.p) as KeyedCurrentRow[];
      if (rows.length === 0) return 0;
    }
    for (const row of rows) {
      const prev = this.deleteRow(row, wantPrev);
      if (spec.prevKv && prev !== undefined) prevKvs.push(prev);
    }
    return rows.length;
  }

  private deleteRow(row: KeyedCurrentRow, wantPrev: boolean): KeyValue | undefined {
    const rev = this.nextRev();
    const key = row.keyStr;
    this.st.insertLog.run(
      rev,
      this.sub++,
      row.key,
      1,
      row.create_rev,
      row.mod_rev,
      0,
      0,
      EMPTY_VALUE,
    );
    this.st.deleteCurrent.run(row.key);
    if (row.lease !== 0) this.leases.detach(row.lease, key);
    const prevKv = wantPrev ? kvFromCurrent(key, row) : undefined;
    if (this.sink.active)
      this.events.push(hubEvent("delete", rev, row.key, tombstoneKv(key, rev), prevKv));
    return prevKv;
  }

  private compare(c: CompareSpec): boolean {
    const cur = (c.target === "value" ? this.st.getCurrentWithValue : this.st.getCurrent).get(
      c.key,
    ) as CurrentRow | undefined;
    let cmp: number;
    switch (c.target) {
      case "value":
        // etcd: a value compare on a missing key is false whatever the operator.
        if (cur === undefined) return false;
        cmp = Buffer.compare(cur.value, c.bytes);
        break;
      case "version":
        cmp = (cur?.version ?? 0) - c.num;
        break;
      case "createRevision":
        cmp = (cur?.create_rev ?? 0) - c.num;
        break;
      case "modRevision":
        cmp = (cur?.mod_rev ?? 0) - c.num;
        break;
      case "lease":
        cmp = compareLeaseIds(leaseId(cur?.lease ?? 0), c.lease);
        break;
    }
    switch (c.op) {
      case "==":
        return cmp === 0;
      case "!=":
        return cmp !== 0;
      case "<":
        return cmp < 0;
      case ">":
        return cmp > 0;
    }
  }

  private txn(spec: TxnSpec): TxnResult {
    let succeeded = true;
    for (const c of spec.compare) {
      if (!this.compare(c)) {
        succeeded = false;
        break;
      }
    }
    const ops = succeeded ? spec.success : spec.failure;
    // Everything that can fail is checked before the first write: a txn is all or nothing.
    for (const op of ops) {
      if (op.type === "put" && op.lease !== NO_LEASE) this.leases.live(op.lease);
      else if (op.type === "get") this.reader.at(op.revision);
    }
    const results: TxnOpResult[] = [];
    for (const op of ops) {
      if (op.type === "get") {
        const r = this.reader.range(op);
        results.push({
          type: "get",
          kvs: r.kvs,
          count: r.count,
          more: r.more,
          revision: r.revision,
        });
      } else if (op.type === "put") {
        const lease = op.lease === NO_LEASE ? 0 : this.leases.live(op.lease).num;
        const prevKv = this.putKey(op, lease);
        results.push(
          prevKv !== undefined && op.prevKv
            ? { type: "put", revision: 0, prevKv }
            : { type: "put", revision: 0 },
        );
      } else {
        const prevKvs: KeyValue[] = [];
        const deleted = this.deleteRange(op, prevKvs);
        results.push({ type: "delete", revision: 0, deleted, prevKvs });
      }
    }
    // Results report the revision the txn ended at, like etcd's single response header (a get
    // at an explicit past revision keeps that one).
    const revision = this.revs.rev;
    for (let i = 0; i < results.length; i++) {
      const op = ops[i]!;
      if (op.type !== "get" || op.revision === 0) results[i]!.revision = revision;
    }
    return { succeeded, revision, results };
  }

  private grant(ttl: number): LeaseGrant {
    const num = this.leases.nextNum++;
    this.st.insertLease.run(num, ttl);
    this.st.setMeta.run("next_lease", this.leases.nextNum);
    return { id: this.leases.add(num, ttl).id, ttl };
  }

  /** Revoke a lease: its keys go at one revision. `onlyIfExpiring` is the expiry clock's call. */
  private revoke(id: LeaseId, onlyIfExpiring: boolean): void {
    const lease = this.leases.get(id);
    if (lease === undefined || (onlyIfExpiring && !lease.expiring)) {
      throw new LeaseNotFoundError(id);
    }
    const keys = [...lease.keys].map((k) => ({ k, b: Buffer.from(k, "utf8") }));
    keys.sort((x, y) => Buffer.compare(x.b, y.b));
    const wantPrev = this.sink.prevKvWatchers > 0;
    for (const { k, b } of keys) {
      const get = wantPrev ? this.st.getCurrentWithValue : this.st.getCurrent;
      const row = get.get(b) as KeyedCurrentRow | undefined;
      if (row === undefined) continue;
      row.key = b;
      row.keyStr = k;
      this.deleteRow(row, wantPrev);
    }
    this.st.deleteLease.run(lease.num);
    this.leases.remove(id);
  }

  private compact(rev: number): void {
    if (rev > this.revs.rev) throw new FutureRevisionError(rev, this.revs.rev);
    if (rev <= this.revs.compactRev) throw new CompactedError(rev, this.revs.compactRev);
    this.st.setMeta.run("compact_rev", rev);
    this.revs.compactRev = rev;
  }
}
