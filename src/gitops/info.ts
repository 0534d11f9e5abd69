/**
 * The GitOps fields of `stack/info` (src/model/stack.ts): the sync loop and the drift loop
 * write them; the engine writes `lastApply` there too. Each write merges into the record under
 * a guard on its revision, so two writers never lose each other's fields.
 */
import { K } from "../model/keys.js";
import { StackInfoSchema, type StackInfo } from "../model/stack.js";
import { text, type Store, type TxnOp } from "../store/index.js";

/** A change to stack/info: fields to set; `undefined` leaves one, `null` removes it. */
export type InfoPatch = { [F in keyof StackInfo]?: StackInfo[F] | null };

/** Merge `patch` into stack/info (with `extra` ops in the same transaction, e.g. an audit entry). */
export async function patchStackInfo(
  store: Store,
  patch: InfoPatch,
  extra: TxnOp[] = [],
): Promise<StackInfo> {
  for (let attempt = 0; ; attempt++) {
    const kv = await store.get(K.stackInfo);
    const current = kv === undefined ? {} : readInfo(text(kv.value));
    const next: Record<string, unknown> = { ...current };
    for (const [field, value] of Object.entries(patch)) {
      if (value === null) delete next[field];
      else if (value !== undefined) next[field] = value;
    }
    const info = StackInfoSchema.parse(next);
    const res = await store.txn({
      compare: [{ key: K.stackInfo, target: "modRevision", op: "==", value: kv?.modRevision ?? 0 }],
      success: [{ type: "put", key: K.stackInfo, value: JSON.stringify(info) }, ...extra],
    });
    if (res.succeeded) return info;
    if (attempt >= 20) throw new Error("stack/info keeps changing under the sync: giving up");
  }
}

/** The record as stored; a damaged one counts as empty (the next write repairs it). */
export function readInfo(json: string): StackInfo {
  try {
    const parsed = StackInfoSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}
