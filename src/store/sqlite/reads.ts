import { CompactedError, FutureRevisionError } from "../errors.js";
import type { KeyValue, RangeResult } from "../types.js";
import { kvFromRaw } from "./rows.js";
import type { RangeParams, Statements } from "./statements.js";
import type { ReadSpec } from "./validate.js";

/** The store's revisions, shared by reads, writes and watches. */
export interface Revisions {
  /** The current revision (inside a group commit: including the group's writes so far). */
  rev: number;
  compactRev: number;
}

/**
 * Reads at the current revision come from `current`; reads at a past revision pick each key's
 * last write at or before it from `log`. Reads are synchronous, so they always see exactly the
 * committed state: a group commit runs to completion before any read can start.
 */
export class Reader {
  private readonly p: RangeParams = {
    start: Buffer.alloc(0),
    end: Buffer.alloc(0),
    rev: 0,
    sub: 0,
    to: 0,
    limit: -1,
  };

  constructor(
    private readonly st: Statements,
    private readonly revs: Revisions,
  ) {}

  /** The revision a read asked for (0 = current), checked against history. */
  at(revision: number): number {
    if (revision === 0) return this.revs.rev;
    if (revision > this.revs.rev) throw new FutureRevisionError(revision, this.revs.rev);
    if (revision < this.revs.compactRev) throw new CompactedError(revision, this.revs.compactRev);
    return revision;
  }

  /** One key at a revision (0 = current). */
  get(key: Buffer, revision: number, keysOnly: boolean): KeyValue | undefined {
    const rev = this.at(revision);
    const s = this.st.single;
    const p = this.params(key, key, rev, 1);
    const past = rev < this.revs.rev;
    const row = (
      past ? (keysOnly ? s.pastKeys : s.past) : keysOnly ? s.currentKeys : s.current
    ).get(p);
    return row === undefined ? undefined : kvFromRaw(row);
  }

  /** A range read. */
  range(spec: ReadSpec): RangeResult {
    const rev = this.at(spec.revision);
    const s = this.st.range(spec.range);
    const p = this.params(
      spec.range.start,
      spec.range.end ?? spec.range.start,
      rev,
      spec.limit || -1,
    );
    const past = rev < this.revs.rev;
    if (spec.countOnly) {
      const count = (past ? s.pastCount : s.currentCount).get(p) as number;
      return { kvs: [], count, more: false, revision: rev };
    }
    const stmt = past
      ? spec.keysOnly
        ? s.pastKeys
        : s.past
      : spec.keysOnly
        ? s.currentKeys
        : s.current;
    const rows = stmt.all(p);
    const kvs: KeyValue[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) kvs[i] = kvFromRaw(rows[i]);
    const count =
      spec.limit === 0 || kvs.length < spec.limit
        ? kvs.length
        : ((past ? s.pastCount : s.currentCount).get(p) as number);
    return { kvs, count, more: count > kvs.length, revision: rev };
  }

  private params(start: Buffer, end: Buffer, rev: number, limit: number): RangeParams {
    const p = this.p;
    p.start = start;
    p.end = end;
    p.rev = rev;
    p.limit = limit;
    return p;
  }
}
