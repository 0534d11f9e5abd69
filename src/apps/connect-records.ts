/**
 * The records of apps connected to outside repos (src/model/connect.ts): the connection at
 * `connect/apps/<app>`, changed by compare-and-swap so that the webhook (on any server) and the
 * leader's poller agree on which commit is built; delivery ids seen at
 * `connect/deliveries/<app>/<id>`, each on a lease of a day (a replay within it is refused).
 */
import { K } from "../model/keys.js";
import { AppConnectionSchema, DELIVERY_TTL_SECONDS, type AppConnection } from "../model/connect.js";
import { text, type Store } from "../store/index.js";

export const connectKey = (app: string): string => `${K.connectApps}${app}`;
export const deliveriesPrefix = (app: string): string => `${K.connectDeliveries}${app}/`;

/** A claim older than this is taken to be a build that died with its server. */
const STALE_CLAIM_MS = 30 * 60_000;

export interface Stored {
  record: AppConnection;
  modRevision: number;
}

function parse(value: Uint8Array): AppConnection | undefined {
  try {
    const r = AppConnectionSchema.safeParse(JSON.parse(text(value)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export async function readConnection(store: Store, app: string): Promise<Stored | undefined> {
  const kv = await store.get(connectKey(app));
  if (kv === undefined) return undefined;
  const record = parse(kv.value);
  return record === undefined ? undefined : { record, modRevision: kv.modRevision };
}

export async function listConnections(store: Store): Promise<AppConnection[]> {
  const res = await store.range({ prefix: K.connectApps });
  return res.kvs.map((kv) => parse(kv.value)).filter((r): r is AppConnection => r !== undefined);
}

/**
 * Change the record with `fn` (undefined from it: leave it as it is), retrying when another
 * writer got there first. Answers the record written, or undefined (gone, or left as it was).
 */
export async function patchConnection(
  store: Store,
  app: string,
  fn: (c: AppConnection) => AppConnection | undefined,
): Promise<AppConnection | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const cur = await readConnection(store, app);
    if (cur === undefined) return undefined;
    const next = fn(cur.record);
    if (next === undefined) return undefined;
    const key = connectKey(app);
    const r = await store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: cur.modRevision }],
      success: [{ type: "put", key, value: JSON.stringify(next) }],
    });
    if (r.succeeded) return next;
  }
  throw new Error(`the connection of ${app} changes too often to be written: try again`);
}

export type Claim = "claimed" | "built" | "building" | "gone";

/** Claim the build of `commit`: refused when it was built already or another build of it runs. */
export async function claimBuild(
  store: Store,
  app: string,
  commit: string,
  by: string,
): Promise<Claim> {
  let why: Claim = "gone";
  const done = await patchConnection(store, app, (c) => {
    if (c.lastCommit === commit) return void (why = "built");
    const b = c.building;
    if (b !== undefined && Date.now() - Date.parse(b.at) < STALE_CLAIM_MS) {
      if (b.commit === commit) return void (why = "building");
    }
    return { ...c, building: { commit, at: new Date().toISOString(), by } };
  });
  return done === undefined ? why : "claimed";
}

/** Record how the build of `commit` ended (and release the claim). */
export async function finishBuild(
  store: Store,
  app: string,
  commit: string,
  end: { build?: string; ok: boolean; error?: string },
): Promise<void> {
  await patchConnection(store, app, (c) => {
    const next: AppConnection = { ...c, lastCommit: commit };
    if (next.building?.commit === commit) delete next.building;
    if (end.build === undefined) delete next.lastBuild;
    else next.lastBuild = end.build;
    next.lastResult = end.ok ? "succeeded" : "failed";
    if (end.ok) delete next.lastError;
    else next.lastError = (end.error ?? "the build failed").slice(0, 2048);
    return next;
  });
}

/** Release a claim without recording a build (the commit could not be fetched). */
export async function dropClaim(
  store: Store,
  app: string,
  commit: string,
  error: string,
): Promise<void> {
  await patchConnection(store, app, (c) => {
    const next: AppConnection = { ...c, lastError: error.slice(0, 2048) };
    if (next.building?.commit === commit) delete next.building;
    return next;
  });
}

/**
 * Remember a webhook delivery id for a day: true when it is new, false when it was seen (a
 * replay). The check and the write are one transaction.
 */
export async function rememberDelivery(store: Store, app: string, id: string): Promise<boolean> {
  const key = `${deliveriesPrefix(app)}${id}`;
  if ((await store.get(key)) !== undefined) return false;
  const lease = await store.grantLease(DELIVERY_TTL_SECONDS);
  const r = await store.txn({
    compare: [{ key, target: "version", op: "==", value: 0 }],
    success: [{ type: "put", key, value: new Date().toISOString(), lease: lease.id }],
  });
  if (!r.succeeded) await store.revokeLease(lease.id).catch(() => undefined);
  return r.succeeded;
}
