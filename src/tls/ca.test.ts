import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:https";
import { connect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { caHash, ensureClusterCa, issueCertificate } from "./ca.js";

const dir = (): string => mkdtempSync(join(tmpdir(), "gantry-ca-"));

describe("ensureClusterCa", () => {
  it("makes a P-256 CA once, key 0600, valid ten years, and reuses it", async () => {
    const d = dir();
    const ca = await ensureClusterCa(d);
    expect(statSync(join(d, "ca.key")).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(join(d, "ca.crt")));
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const years = (Date.parse(cert.validTo) - Date.now()) / (365 * 86_400_000);
    expect(years).toBeGreaterThan(9.9);
    expect(ca.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(ca.hash).toBe(caHash(ca.certPem));
    const again = await ensureClusterCa(d);
    expect(again.certPem).toBe(ca.certPem);
    expect(again.hash).toBe(ca.hash);
  });
});

describe("ensureClusterCa, called twice at once", () => {
  it("makes one CA whose key is its certificate's", async () => {
    const d = dir();
    const [a, b] = await Promise.all([ensureClusterCa(d), ensureClusterCa(d)]);
    expect(a.hash).toBe(b.hash);
    const leaf = await issueCertificate(a, { dnsNames: ["x"], ips: [], days: 1 });
    expect(new X509Certificate(leaf.certPem).verify(new X509Certificate(a.certPem).publicKey)).toBe(
      true,
    );
  });
});

describe("issueCertificate", () => {
  it("issues a leaf for the names that verifies against the CA over TLS", async () => {
    const ca = await ensureClusterCa(dir());
    const leaf = await issueCertificate(ca, {
      dnsNames: ["localhost", "api.example"],
      ips: ["127.0.0.1"],
      days: 30,
    });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.subjectAltName).toContain("DNS:api.example");
    expect(cert.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(cert.ca).toBe(false);

    const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (_q, s) => s.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const handshake = (servername: string, caPem?: string): Promise<string> =>
      new Promise((resolve) => {
        const s = connect({ host: "127.0.0.1", port, servername, ...(caPem ? { ca: caPem } : {}) });
        s.on("secureConnect", () => {
          s.end();
          resolve("ok");
        });
        s.on("error", (e: Error & { code?: string }) => resolve(e.code ?? e.message));
      });
    try {
      expect(await handshake("api.example", ca.certPem)).toBe("ok");
      expect(await handshake("other.example", ca.certPem)).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
      expect(await handshake("api.example")).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    } finally {
      server.close();
    }
  });

  it("refuses a certificate without names", async () => {
    const ca = await ensureClusterCa(dir());
    await expect(issueCertificate(ca, { dnsNames: [], ips: [], days: 1 })).rejects.toThrow(
      /at least one/,
    );
  });
});
