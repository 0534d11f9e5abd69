import { ValidationError } from "../errors.js";
import { K } from "../model/keys.js";
import { MAX_KEY_BYTES } from "../store/limits.js";
import type { KeyValue } from "../store/index.js";

/** A KV entry as the API shows it: the user's key (without the store prefix), value in base64. */
export interface ApiKeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

export function toApi(kv: KeyValue, keysOnly = false): ApiKeyValue {
  return {
    key: kv.key.slice(K.kv.length),
    value: keysOnly ? "" : Buffer.from(kv.value).toString("base64"),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

/**
 * Check a user's key (from a URL path or a JSON body) and return its store key. Keys are
 * printable: no control characters, no leading slash, no empty segments' worth of surprises.
 */
export function userKey(key: string, field = "key", allowEmpty = false): string {
  if (key === "" && allowEmpty) return K.kv;
  if (key === "") throw new ValidationError(`${field} must not be empty`, field);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES - K.kv.length) {
    throw new ValidationError(
      `${field} is longer than ${MAX_KEY_BYTES - K.kv.length} bytes`,
      field,
    );
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key))
    throw new ValidationError(`${field} must not contain control characters`, field);
  if (key.startsWith("/")) throw new ValidationError(`${field} must not start with "/"`, field);
  return K.kv + key;
}

/** The user key in a request path after `/v1/kv/`, percent-decoded. */
export function pathKey(raw: string | undefined, allowEmpty = false): string {
  let key: string;
  try {
    key = decodeURIComponent(raw ?? "");
  } catch {
    throw new ValidationError("the key in the path is not valid percent-encoding", "key");
  }
  return userKey(key, "key", allowEmpty);
}
