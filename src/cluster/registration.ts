/**
 * Every server registers itself as `sys/servers/<name>` on a lease it keeps alive (TTL 10 s), so
 * the others and `gantry servers` know where its API answers; a dead server's record goes with
 * its lease. A record deleted while the server lives (the autopilot removed a server it could not
 * reach) or a lease lost in an outage is written again at the next renewal.
 */
import { K } from "../model/keys.js";
import { SERVER_RECORD_TTL, ServerRecordSchema, type ServerRecord } from "../model/server.js";
import { LeaseNotFoundError, text, type LeaseId, type Store } from "../store/index.js";
import { sleep } from "../sleep.js";

export interface Registration {
  stop(): Promise<void>;
}

export function registerServer(o: {
  store: Store;
  record: ServerRecord;
  ttlSeconds?: number;
  log: (line: string) => void;
}): Registration {
  const abort = new AbortController();
  const ttl = o.ttlSeconds ?? SERVER_RECORD_TTL;
  const key = K.servers + o.record.name;
  const value = JSON.stringify(o.record);
  let lease: LeaseId | undefined;

  const run = async (): Promise<void> => {
    let failing = false;
    while (!abort.signal.aborted) {
      try {
        if (lease === undefined) {
          lease = (await o.store.grantLease(ttl)).id;
          await o.store.put(key, value, { lease });
        } else {
          await o.store.keepAlive(lease);
          if ((await o.store.get(key, { keysOnly: true })) === undefined)
            await o.store.put(key, value, { lease });
        }
        if (failing) o.log(`servers: registered again as ${o.record.name}`);
        failing = false;
      } catch (err) {
        if (err instanceof LeaseNotFoundError) lease = undefined;
        // Once per outage, not once per renewal.
        if (!failing && !abort.signal.aborted)
          o.log(`servers: cannot renew this server's record ${key}: ${String(err)} (retrying)`);
        failing = true;
      }
      await sleep(failing ? 1_000 : (ttl * 1000) / 3, abort.signal);
    }
  };
  const done = run();
  return {
    stop: async () => {
      abort.abort();
      await done;
      // The record goes at once: the others need not wait for its TTL.
      if (lease !== undefined) await o.store.revokeLease(lease).catch(() => undefined);
    },
  };
}

/**
 * Every server's record with its key; records this version cannot read are left out, and none
 * are returned when the store does not answer (callers decide without them).
 */
export async function readServerRecords(
  store: Store,
): Promise<{ key: string; record: ServerRecord }[]> {
  try {
    const r = await store.range({ prefix: K.servers });
    return r.kvs.flatMap((kv) => {
      try {
        const rec = ServerRecordSchema.safeParse(JSON.parse(text(kv.value)));
        return rec.success ? [{ key: kv.key, record: rec.data }] : [];
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}
