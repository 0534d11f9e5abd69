import { ValidationError } from "../errors.js";
import type { KeyValue, PutOptions, PutResult, Store } from "./types.js";

const decoder = new TextDecoder("utf-8");

/** A value as UTF-8 text. */
export function text(value: Uint8Array): string {
  return decoder.decode(value);
}

/** Read a key as JSON; undefined when absent. */
export async function getJson<T>(store: Store, key: string): Promise<T | undefined> {
  const kv = await store.get(key);
  return kv === undefined ? undefined : parseJson<T>(kv);
}

/** Parse a stored value as JSON, naming the key when it is not JSON. */
export function parseJson<T>(kv: KeyValue): T {
  try {
    return JSON.parse(text(kv.value)) as T;
  } catch {
    throw new ValidationError(`the value of ${kv.key} is not valid JSON`, kv.key);
  }
}

/** Write a value as JSON. */
export function putJson(
  store: Store,
  key: string,
  value: unknown,
  opts?: PutOptions,
): Promise<PutResult> {
  return store.put(key, JSON.stringify(value), opts);
}
