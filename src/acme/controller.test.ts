/**
 * The ACME controller on a real embedded store, against a directory nobody listens on: what it
 * records when it cannot get a certificate, what it leaves alone, and the leftovers it clears.
 * (Issuance itself is proven against pebble: test/acme.slow.test.ts.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { selfSigned } from "../../test/helpers/certs.js";
import { SecretBox } from "../apps/secrets.js";
import { appKey } from "../apps/keys.js";
import { parseRecord } from "../apps/records.js";
import { ACME_KEYS, AcmeAccountSchema, AcmeStatusSchema } from "../certs/acme-state.js";
import { CERTS_PREFIX, CertRecordSchema, sealCert } from "../certs/record.js";
import { checkCertificate } from "../certs/validate.js";
import { openStore, text, type Store } from "../store/index.js";
import { startAcmeController } from "./controller.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const app = (name: string, domains: string[]) =>
  JSON.stringify({
    name,
    createdAt: new Date().toISOString(),
    createdBy: "test",
    domains,
    formation: {},
    healthPath: "/",
    deployTimeoutMs: 30_000,
    drainMs: 0,
    currentRelease: 0,
  });

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function world(): Promise<{ store: Store; box: SecretBox }> {
  const dir = mkdtempSync(join(tmpdir(), "gantry-acme-ctl-"));
  const store = await openStore(dir);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => store.close());
  return { store, box: new SecretBox({ key: randomBytes(32) }) };
}

describe("ACME controller", () => {
  it("records why an app got no certificate, leaves manual ones alone, clears old challenges", async () => {
    const { store, box } = await world();
    await store.put(appKey("shop"), app("shop", ["shop.example.com", "shop.localhost"]));
    await store.put(appKey("mine"), app("mine", ["www.example.com"]));
    await store.put(appKey("local"), app("local", ["local.localhost"]));
    const c = await selfSigned(["www.example.com"]);
    const manual = sealCert(
      box,
      "mine",
      c,
      checkCertificate({ ...c, certFile: "c", keyFile: "k" }, []),
      "manual",
    );
    await store.put(CERTS_PREFIX + "mine", JSON.stringify(manual));
    const old = new Date(Date.now() - 2 * 3_600_000).toISOString();
    await store.put(
      ACME_KEYS.http01 + "old",
      JSON.stringify({ keyAuthorization: "x", app: "shop", createdAt: old }),
    );
    const fresh = { keyAuthorization: "y", app: "shop", createdAt: new Date().toISOString() };
    await store.put(ACME_KEYS.http01 + "fresh", JSON.stringify(fresh));

    const ctl = startAcmeController({
      store,
      box,
      acme: { url: "https://127.0.0.1:1/dir", renewBeforeMs: 86_400_000 },
      log: () => undefined,
    });
    cleanups.push(() => ctl.stop());

    const status = await until("shop's error", async () =>
      parseRecord(await store.get(ACME_KEYS.status + "shop"), AcmeStatusSchema),
    );
    expect(status).toMatchObject({ app: "shop", domains: ["shop.example.com"], failures: 1 });
    expect(status.lastError).toBe(
      "cannot reach the ACME directory https://127.0.0.1:1/dir (ECONNREFUSED)",
    );
    expect(Date.parse(status.nextAttempt) - Date.parse(status.failedAt)).toBe(5000);
    // The account key was made and sealed before first use, never stored in the clear.
    const account = parseRecord(await store.get(ACME_KEYS.account), AcmeAccountSchema);
    expect(account?.directory).toBe("https://127.0.0.1:1/dir");
    expect(text((await store.get(ACME_KEYS.account))!.value)).not.toContain("PRIVATE KEY");

    expect(await store.get(ACME_KEYS.status + "mine")).toBeUndefined();
    expect(await store.get(ACME_KEYS.status + "local")).toBeUndefined();
    const kept = CertRecordSchema.parse(
      JSON.parse(text((await store.get(CERTS_PREFIX + "mine"))!.value)),
    );
    expect(kept).toEqual(manual);
    expect(await store.get(ACME_KEYS.http01 + "old")).toBeUndefined();
    expect(await store.get(ACME_KEYS.http01 + "fresh")).toBeDefined();

    // Retried after 5 s: the second failure waits 10 s.
    const second = await until("the retry", async () => {
      const s = parseRecord(await store.get(ACME_KEYS.status + "shop"), AcmeStatusSchema);
      return s !== undefined && s.failures === 2 ? s : undefined;
    });
    expect(Date.parse(second.failedAt) - Date.parse(status.failedAt)).toBeGreaterThanOrEqual(5000);
    expect(Date.parse(second.nextAttempt) - Date.parse(second.failedAt)).toBe(10_000);
  }, 20_000);

  it("stops within seconds while the CA is silent (a request in flight)", async () => {
    const { store, box } = await world();
    await store.put(appKey("shop"), app("shop", ["shop.example.com"]));
    // Accepts connections, never answers.
    const held: Socket[] = [];
    const silent = createServer((sock) => void held.push(sock));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    cleanups.push(() => {
      held.forEach((sock) => sock.destroy());
      silent.close();
    });
    const port = (silent.address() as AddressInfo).port;
    const ctl = startAcmeController({
      store,
      box,
      acme: { url: `https://127.0.0.1:${port}/dir`, renewBeforeMs: 86_400_000 },
      log: () => undefined,
    });
    await until("a request to the CA", async () => (held.length > 0 ? true : undefined));
    const started = Date.now();
    await ctl.stop();
    expect(Date.now() - started).toBeLessThan(6000);
  }, 15_000);

  it("keeps the last good ACME certificate and records the error on it", async () => {
    const { store, box } = await world();
    await store.put(appKey("shop"), app("shop", ["shop.example.com"]));
    // Issued long ago for these domains: due for renewal.
    const c = await selfSigned(["shop.example.com"], {
      from: new Date(Date.now() - 10 * 86_400_000),
      days: 12,
    });
    const info = checkCertificate({ ...c, certFile: "c", keyFile: "k" }, ["shop.example.com"]);
    const rec = sealCert(box, "shop", c, info, "acme");
    await store.put(CERTS_PREFIX + "shop", JSON.stringify(rec));

    const ctl = startAcmeController({
      store,
      box,
      acme: { url: "https://127.0.0.1:1/dir", renewBeforeMs: 30 * 86_400_000 },
      log: () => undefined,
    });
    cleanups.push(() => ctl.stop());

    const after = await until("the error on the record", async () => {
      const kv = await store.get(CERTS_PREFIX + "shop");
      const r = CertRecordSchema.parse(JSON.parse(text(kv!.value)));
      return r.lastError !== undefined ? r : undefined;
    });
    expect(after.lastError).toMatch(/ECONNREFUSED/);
    expect({ ...after, lastError: undefined }).toEqual({ ...rec, lastError: undefined });
  });
});
