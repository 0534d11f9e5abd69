import type { IKeyValue, IRangeResponse, IResponseHeader, IResponseOp } from "etcd3";
import type { ByteRange } from "../keys.js";
import type { KeyValue, RangeResult, TxnOpResult } from "../types.js";
import type { OpKind } from "./requests.js";

/** etcd's "\0": as a range end, "to the end of the keyspace"; as a start, the first key. */
const ZERO = Buffer.from([0]);

/** etcd's key and range_end for a byte range (keys.ts spells "to the end" as an empty end). */
export function etcdRange(r: ByteRange): { key: Buffer; range_end?: Buffer } {
  const key = r.start.length === 0 ? ZERO : r.start;
  if (r.end === undefined) return { key };
  return { key, range_end: r.end.length === 0 ? ZERO : r.end };
}

/** etcd sends int64 as decimal strings; revisions and counts fit a JS number. */
export function num(v: string | number | null | undefined): number {
  return v === null || v === undefined ? 0 : Number(v);
}

export function revisionOf(header: IResponseHeader | null | undefined): number {
  return num(header?.revision);
}

export function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString("utf8"),
    value: kv.value ?? Buffer.alloc(0),
    createRevision: num(kv.create_revision),
    modRevision: num(kv.mod_revision),
    version: num(kv.version),
    lease: kv.lease === undefined || kv.lease === null || kv.lease === "" ? "0" : String(kv.lease),
  };
}

/** A prev_kv field: absent (or null, with proto defaults) means there was none. */
export function optionalKv(kv: IKeyValue | null | undefined): KeyValue | undefined {
  return kv === null || kv === undefined ? undefined : toKeyValue(kv);
}

/** A range response; `atRevision` is the revision asked for (0: the current one). */
export function toRangeResult(res: IRangeResponse, atRevision: number): RangeResult {
  return {
    kvs: (res.kvs ?? []).map(toKeyValue),
    count: num(res.count),
    more: res.more === true,
    revision: atRevision > 0 ? atRevision : revisionOf(res.header),
  };
}

/** One result of a transaction's chosen branch; every op shares the txn's revision. */
export function opResult(kind: OpKind, r: IResponseOp | undefined, revision: number): TxnOpResult {
  switch (kind) {
    case "get": {
      const res = r?.response_range;
      return {
        type: "get",
        kvs: (res?.kvs ?? []).map(toKeyValue),
        count: num(res?.count),
        more: res?.more === true,
        revision,
      };
    }
    case "put": {
      const out: TxnOpResult = { type: "put", revision };
      const prevKv = optionalKv(r?.response_put?.prev_kv);
      if (prevKv !== undefined) out.prevKv = prevKv;
      return out;
    }
    case "delete": {
      const res = r?.response_delete_range;
      return {
        type: "delete",
        revision,
        deleted: num(res?.deleted),
        prevKvs: (res?.prev_kvs ?? []).map(toKeyValue),
      };
    }
  }
}
