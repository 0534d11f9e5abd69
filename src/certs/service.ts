import type { SecretBox } from "../apps/secrets.js";
import { parseAll, readApp } from "../apps/records.js";
import { notFound } from "../errors.js";
import type { Store } from "../store/index.js";
import { ACME_KEYS, AcmeStatusSchema, type AcmeStatus } from "./acme-state.js";
import { CERTS_PREFIX, CertRecordSchema, sealCert, type CertRecord } from "./record.js";
import { checkCertificate, type CertInput } from "./validate.js";

/**
 * A stored certificate as `gantry certs` shows it: never the key. `pending`: ACME has not
 * issued one yet and the last attempt failed (issuer and dates are empty, lastError says why).
 */
export type CertView = Omit<CertRecord, "keySealed" | "certPem"> & { pending?: true };

/** Certificates given by users (`gantry certs:add`), kept in the store with their keys sealed. */
export class CertService {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    /** Apps without custom domains are served at `<app>.<appDomain>`. */
    private readonly appDomain: string,
  ) {}

  /** The names an app's certificate must cover: its custom domains, else `<app>.<domain>`. */
  async domainsOf(app: string): Promise<string[]> {
    const { value } = await readApp(this.store, app);
    return value.domains.length > 0 ? value.domains : [`${app}.${this.appDomain}`];
  }

  /** Check and store an app's certificate (replacing the one it had). */
  async add(app: string, input: CertInput): Promise<CertView> {
    const info = checkCertificate(input, await this.domainsOf(app));
    const rec = sealCert(this.box, app, input, info, "manual");
    await this.store.put(CERTS_PREFIX + app, JSON.stringify(rec));
    return view(rec);
  }

  async list(app?: string): Promise<CertView[]> {
    const certs = (await this.records(app)).map(view);
    const have = new Set(certs.map((c) => c.app));
    const res = await this.store.range(
      app === undefined ? { prefix: ACME_KEYS.status } : ACME_KEYS.status + app,
    );
    const pending = parseAll(res.kvs, AcmeStatusSchema)
      .map((s) => s.value)
      .filter((s) => !have.has(s.app))
      .map(pendingView);
    return [...certs, ...pending].sort((a, b) => a.app.localeCompare(b.app));
  }

  /** Every stored record, or the app's. */
  async records(app?: string): Promise<CertRecord[]> {
    const res =
      app === undefined
        ? await this.store.range({ prefix: CERTS_PREFIX })
        : await this.store.range(CERTS_PREFIX + app);
    const out: CertRecord[] = [];
    for (const kv of res.kvs) {
      const parsed = CertRecordSchema.safeParse(JSON.parse(Buffer.from(kv.value).toString("utf8")));
      if (parsed.success) out.push(parsed.data);
    }
    return out;
  }

  async remove(app: string): Promise<void> {
    const res = await this.store.delete(CERTS_PREFIX + app);
    if (res.deleted === 0) throw notFound(`certificate of app "${app}"`);
  }
}

function pendingView(s: AcmeStatus): CertView {
  return {
    app: s.app,
    source: "acme",
    domains: s.domains,
    issuer: "",
    notBefore: "",
    notAfter: "",
    fingerprint: "",
    addedAt: s.failedAt,
    lastError: s.lastError,
    pending: true,
  };
}

function view(rec: CertRecord): CertView {
  const { keySealed: _k, certPem: _c, ...rest } = rec;
  return rest;
}
