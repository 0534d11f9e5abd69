import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { selfSigned } from "../../test/helpers/certs.js";
import { SecretBox } from "../apps/secrets.js";
import type { RouterCert } from "../router/https.js";
import { openStore, type Store } from "../store/index.js";
import { CERTS_PREFIX, sealCert } from "./record.js";
import { StoreCertSource } from "./store-source.js";
import { checkCertificate } from "./validate.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("timed out");
}

describe("StoreCertSource", () => {
  it("follows certs/ in the store, and keeps the last good certificate when a record does not open", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gantry-certs-store-"));
    const store: Store = await openStore(dir);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanups.push(() => store.close());
    const box = new SecretBox({ key: randomBytes(32) });
    const c = await selfSigned(["www.example.com"]);
    const info = checkCertificate({ ...c, certFile: "c", keyFile: "k" }, []);
    const rec = sealCert(box, "shop", c, info, "manual");

    const logs: string[] = [];
    let got: RouterCert[] | undefined;
    const stop = new StoreCertSource(store, box, (l) => logs.push(l)).watch((certs) => {
      got = certs;
    });
    cleanups.push(stop);
    await until(() => got);
    expect(got).toEqual([]);

    await store.put(CERTS_PREFIX + "shop", JSON.stringify(rec));
    const served = await until(() => (got?.length === 1 ? got : undefined));
    expect(served[0]).toMatchObject({ domains: ["www.example.com"], keyPem: c.keyPem });

    // Sealed for another app: it does not open, and the last good one stays.
    got = undefined;
    await store.put(CERTS_PREFIX + "shop", JSON.stringify({ ...rec, app: "other" }));
    expect(await until(() => got)).toEqual(served);
    expect(logs.join("\n")).toMatch(/certs\/shop does not open .*keeping the last good one/);

    got = undefined;
    await store.delete(CERTS_PREFIX + "shop");
    expect(await until(() => got)).toEqual([]);
  });
});
