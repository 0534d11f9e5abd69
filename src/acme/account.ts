import type { SecretBox } from "../apps/secrets.js";
import { parseRecord } from "../apps/records.js";
import {
  ACME_KEYS,
  AcmeAccountSchema,
  openAccountKey,
  sealAccountKey,
  type AcmeAccount,
} from "../certs/acme-state.js";
import type { Store } from "../store/index.js";
import { newAccountKey, type AcmeDirectory, type ChallengeStore } from "./issue.js";

/**
 * The ACME account for this directory: its key opened from the store, or a new key (sealed and
 * stored before first use, so a crash does not leave the CA an account nobody has the key of).
 * Another directory gets another account.
 */
export async function loadAccount(
  store: Store,
  box: SecretBox,
  dir: AcmeDirectory,
): Promise<{ keyPem: string; url?: string }> {
  const stored = parseRecord(await store.get(ACME_KEYS.account), AcmeAccountSchema);
  if (stored !== undefined && stored.directory === dir.url)
    return {
      keyPem: openAccountKey(box, stored.keySealed),
      ...(stored.url === undefined ? {} : { url: stored.url }),
    };
  const keyPem = await newAccountKey(dir);
  const rec: AcmeAccount = {
    directory: dir.url,
    ...(dir.email === undefined ? {} : { email: dir.email }),
    keySealed: sealAccountKey(box, keyPem),
  };
  await store.put(ACME_KEYS.account, JSON.stringify(rec));
  return { keyPem };
}

/** Remember the account's URL once the CA has said it. */
export async function saveAccountUrl(store: Store, url: string): Promise<void> {
  const kv = await store.get(ACME_KEYS.account);
  const stored = parseRecord(kv, AcmeAccountSchema);
  if (kv === undefined || stored === undefined) return;
  await store.txn({
    compare: [{ key: ACME_KEYS.account, target: "modRevision", op: "==", value: kv.modRevision }],
    success: [{ type: "put", key: ACME_KEYS.account, value: JSON.stringify({ ...stored, url }) }],
  });
}

/** Key authorizations kept in the store while the CA checks them; the router reads them there. */
export function storeChallenges(store: Store, app: string): ChallengeStore {
  return {
    put: async (token, keyAuthorization) => {
      const rec = { keyAuthorization, app, createdAt: new Date().toISOString() };
      await store.put(ACME_KEYS.http01 + token, JSON.stringify(rec));
    },
    remove: async (token) => {
      await store.delete(ACME_KEYS.http01 + token);
    },
  };
}
