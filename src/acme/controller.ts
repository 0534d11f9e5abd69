/**
 * The ACME controller (leader only): gives every app with custom domains a certificate from the
 * configured directory, renews it `renewBeforeMs` before it expires, and on failure keeps the
 * last good certificate, records the error (`gantry certs` shows it) and retries with backoff.
 * It follows apps, certificates and opt-outs in the store, and wakes when something falls due.
 */
import type { SecretBox } from "../apps/secrets.js";
import { AppSchema } from "../model/app.js";
import { K } from "../model/keys.js";
import { parseAll, parseRecord } from "../apps/records.js";
import { ACME_KEYS, AcmeStatusSchema, Http01Schema, type AcmeStatus } from "../certs/acme-state.js";
import { CERTS_PREFIX, CertRecordSchema, sealCert, type CertRecord } from "../certs/record.js";
import { checkCertificate } from "../certs/validate.js";
import { sleep } from "../sleep.js";
import type { Store } from "../store/index.js";
import { loadAccount, saveAccountUrl, storeChallenges } from "./account.js";
import { issueCertificate, type AcmeDirectory } from "./issue.js";
import { planAcme, retryDelayMs, type AcmeWork } from "./plan.js";

export interface AcmeOptions extends AcmeDirectory {
  /** Renew when less than this is left (default 30 days). */
  renewBeforeMs: number;
}

export interface AcmeControllerOptions {
  store: Store;
  box: SecretBox;
  acme: AcmeOptions;
  log?: (line: string) => void;
}

/** Look at everything again at least this often (a safety net for missed events). */
const RESYNC_MS = 60_000;
/** A CA validates within minutes; a key authorization older than this is left over. */
const STALE_CHALLENGE_MS = 3_600_000;
const STOP_WAIT_MS = 5_000;

/** Start the controller; stop() waits a few seconds at most for an issuance in progress. */
export function startAcmeController(opts: AcmeControllerOptions): { stop(): Promise<void> } {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const abort = new AbortController();
  // A change seen while a round runs makes the next round start at once.
  let dirty = false;
  let wake: (() => void) | undefined;
  const kick = (): void => {
    dirty = true;
    wake?.();
  };
  abort.signal.addEventListener("abort", kick, { once: true });
  const watches = [K.apps, CERTS_PREFIX, ACME_KEYS.off].map((prefix) =>
    follow(opts.store, prefix, kick, abort.signal),
  );
  const loop = (async () => {
    while (!abort.signal.aborted) {
      dirty = false;
      let wakeAt: number | undefined;
      try {
        wakeAt = await reconcile(opts, log, abort.signal);
      } catch (err) {
        log(`acme: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (dirty || abort.signal.aborted) continue;
      const wait = Math.min(RESYNC_MS, Math.max(0, (wakeAt ?? Infinity) - Date.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();
  return {
    stop: async () => {
      abort.abort();
      // An issuance cannot be cut short (acme-client takes no signal) and may wait on a silent
      // CA for long: stopping waits a little, then leaves it to end on its own — its writes are
      // guarded by the revision it read, so a new leader's work is never overwritten.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)));
      await Promise.race([Promise.all([loop, ...watches]), waited]);
      clearTimeout(timer);
    },
  };
}

/** One round: plan from the store, issue what is due in turn; returns when to wake next. */
async function reconcile(
  opts: AcmeControllerOptions,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<number | undefined> {
  const { store } = opts;
  const [apps, certs, statuses, offs, challenges] = await Promise.all([
    store.range({ prefix: K.apps }),
    store.range({ prefix: CERTS_PREFIX }),
    store.range({ prefix: ACME_KEYS.status }),
    store.range({ prefix: ACME_KEYS.off }, { keysOnly: true }),
    store.range({ prefix: ACME_KEYS.http01 }),
  ]);
  // Challenges left by a server that stopped mid-issuance (a finished one removes its own).
  for (const kv of challenges.kvs) {
    const rec = parseRecord(kv, Http01Schema);
    if (rec === undefined || Date.parse(rec.createdAt) < Date.now() - STALE_CHALLENGE_MS)
      await store.delete(kv.key);
  }
  const certByApp = new Map(parseAll(certs.kvs, CertRecordSchema).map((c) => [c.value.app, c]));
  const statusByApp = new Map(
    parseAll(statuses.kvs, AcmeStatusSchema).map((s) => [s.value.app, s]),
  );
  const plan = planAcme(
    {
      apps: parseAll(apps.kvs, AppSchema).map((a) => a.value),
      certs: new Map([...certByApp].map(([app, c]) => [app, c.value])),
      retries: new Map([...statusByApp].map(([app, s]) => [app, s.value])),
      off: new Set(offs.kvs.map((kv) => kv.key.slice(ACME_KEYS.off.length))),
    },
    opts.acme.renewBeforeMs,
    Date.now(),
  );
  for (const app of plan.stale) await store.delete(ACME_KEYS.status + app);
  for (const work of plan.work) {
    if (signal.aborted) break;
    const cert = certByApp.get(work.app);
    await issueFor(opts, work, cert, statusByApp.get(work.app)?.value, log);
  }
  // Something was done (or failed): plan again at once, with the retry times just written.
  return plan.work.length > 0 ? Date.now() : plan.wakeAt;
}

async function issueFor(
  opts: AcmeControllerOptions,
  work: AcmeWork,
  cert: { value: CertRecord; modRevision: number } | undefined,
  status: AcmeStatus | undefined,
  log: (line: string) => void,
): Promise<void> {
  const { store, box } = opts;
  const key = CERTS_PREFIX + work.app;
  try {
    const account = await loadAccount(store, box, opts.acme);
    const issued = await issueCertificate(
      opts.acme,
      account,
      work.domains,
      storeChallenges(store, work.app),
    );
    if (account.url !== issued.accountUrl) await saveAccountUrl(store, issued.accountUrl);
    const input = { ...issued, certFile: "the certificate from the CA", keyFile: "its key" };
    const rec = sealCert(box, work.app, issued, checkCertificate(input, work.domains), "acme");
    // Only over what was read: a certificate given meanwhile with certs:add wins.
    const res = await store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: cert?.modRevision ?? 0 }],
      success: [
        { type: "put", key, value: JSON.stringify(rec) },
        { type: "delete", range: ACME_KEYS.status + work.app },
      ],
    });
    if (res.succeeded)
      log(
        `acme: ${work.app}: certificate for ${work.domains.join(", ")} (${work.why}) from ${rec.issuer}, expires ${rec.notAfter}`,
      );
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
    const failures = (status?.failures ?? 0) + 1;
    const now = Date.now();
    const next: AcmeStatus = {
      app: work.app,
      domains: work.domains,
      lastError: why,
      failedAt: new Date(now).toISOString(),
      failures,
      nextAttempt: new Date(now + retryDelayMs(failures)).toISOString(),
    };
    log(
      `acme: ${work.app}: ${work.why} for ${work.domains.join(", ")} failed (${why}); again in ${Math.round(retryDelayMs(failures) / 1000)} s${cert === undefined ? "" : "; the last good certificate stays"}`,
    );
    await store.put(ACME_KEYS.status + work.app, JSON.stringify(next));
    if (cert !== undefined && cert.value.source === "acme")
      await store.txn({
        compare: [{ key, target: "modRevision", op: "==", value: cert.modRevision }],
        success: [{ type: "put", key, value: JSON.stringify({ ...cert.value, lastError: why }) }],
      });
  }
}

/** Call `onChange` at every change under `prefix` until `signal`; a broken watch is reopened. */
async function follow(
  store: Store,
  prefix: string,
  onChange: () => void,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    const watch = store.watch({ prefix });
    const cancel = (): void => watch.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      for await (const batch of watch) if (batch.length > 0) onChange();
    } catch {
      // store away: the resync timer covers the gap
    } finally {
      signal.removeEventListener("abort", cancel);
    }
    await sleep(1000, signal);
  }
}
