import { afterEach, describe, expect, it } from "vitest";
import { errorOf, startTestApi } from "../../test/helpers/api.js";
import { selfSigned } from "../../test/helpers/certs.js";
import { AppsClient } from "../client/apps.js";
import { readCertBundle } from "../client/certs.js";
import { CERTS_PREFIX } from "../certs/record.js";
import { routerPolicies } from "../model/policies.js";
import { ApiCertSource, routerCerts } from "./api-cert-source.js";
import type { RouterCert } from "./https.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function within<T>(ms: number, what: string, probe: () => T | undefined): Promise<number> {
  const start = Date.now();
  while (probe() === undefined) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

describe("routerCerts", () => {
  const cert = (app: string, pem: string): RouterCert => ({
    domains: [`${app}.example.com`],
    certPem: pem,
    keyPem: "k",
    label: app,
  });

  it("serves the bundle's certificates, and the last good one of an app the server could not open", () => {
    const before = [cert("a", "old-a"), cert("b", "old-b")];
    const bundle = {
      certs: [{ app: "a", domains: ["a.example.com"], certPem: "new-a", keyPem: "k" }],
      unreadable: ["b", "c"],
    };
    expect(routerCerts(bundle, before)).toEqual([cert("a", "new-a"), cert("b", "old-b")]);
    expect(routerCerts({ certs: [] }, before)).toEqual([]);
  });
});

describe("the certificate bundle and ApiCertSource", () => {
  it("a router token follows certs:add within a second; other tokens are refused (403); the first read is audited", async () => {
    const api = await startTestApi();
    cleanups.push(() => api.close());
    const apps = new AppsClient(api.admin);
    await apps.create("shop");
    await apps.addDomain("shop", "www.example.com");
    const add = async (c: { certPem: string; keyPem: string }): Promise<void> => {
      await api.admin.json("POST", "/v1/apps/shop/certs", { body: c });
    };
    const first = await selfSigned(["www.example.com"]);
    await add(first);

    const router = await api.clientWith(routerPolicies, "router-1");
    const logs: string[] = [];
    let got: RouterCert[] | undefined;
    const source = new ApiCertSource({ client: router, log: (l) => logs.push(l) });
    const stop = source.watch((c) => (got = c));
    cleanups.push(stop);
    await within(2000, "the first certificate", () =>
      got?.[0]?.certPem === first.certPem ? true : undefined,
    );
    expect(got).toEqual([
      { domains: ["www.example.com"], certPem: first.certPem, keyPem: first.keyPem, label: "shop" },
    ]);

    const second = await selfSigned(["www.example.com"]);
    await add(second);
    const took = await within(1000, "the replaced certificate", () =>
      got?.[0]?.certPem === second.certPem ? true : undefined,
    );
    expect(took).toBeLessThan(1000);

    // A record that no longer opens: the router keeps the certificate it had.
    const kv = (await api.store.get(CERTS_PREFIX + "shop"))!;
    const rec = JSON.parse(Buffer.from(kv.value).toString("utf8")) as { keySealed: string };
    await api.store.put(CERTS_PREFIX + "shop", JSON.stringify({ ...rec, keySealed: "AAAA" }));
    await within(1000, "the log line", () =>
      logs.some((l) => l.includes("cannot open the certificate of shop")) ? true : undefined,
    );
    expect(got?.[0]?.certPem).toBe(second.certPem);

    // Keys only with cert read: a node token, a viewer-like token and a deployer are refused.
    for (const policies of [
      [{ resource: "node" as const, prefix: "n1", access: "write" as const }],
      [
        { resource: "app" as const, prefix: "", access: "read" as const },
        { resource: "service" as const, prefix: "", access: "read" as const },
      ],
      [{ resource: "app" as const, prefix: "shop", access: "write" as const }],
    ]) {
      const err = await errorOf(readCertBundle(await api.clientWith(policies)));
      expect(err.status).toBe(403);
      expect(err.message).toContain("cert read");
    }

    const audit = await api.admin.json<{ action: string; token: string }[]>("GET", "/v1/audit");
    expect(audit.filter((e) => e.action === "cert.bundle").map((e) => e.token)).toEqual([
      "router-1",
    ]);
  });
});
