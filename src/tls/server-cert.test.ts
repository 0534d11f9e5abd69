import { X509Certificate } from "node:crypto";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ensureClusterCa } from "./ca.js";
import { apiCertNames, certNames, ensureServerCertificate, needsReissue } from "./server-cert.js";

describe("apiCertNames", () => {
  it("covers loopback, the listen host and the host name; not wildcard addresses", () => {
    expect(apiCertNames("0.0.0.0", "box")).toEqual({
      dnsNames: ["box", "localhost"],
      ips: ["0:0:0:0:0:0:0:1", "127.0.0.1"],
    });
    expect(apiCertNames("10.0.0.5", "Box.lan")).toEqual({
      dnsNames: ["box.lan", "localhost"],
      ips: ["0:0:0:0:0:0:0:1", "10.0.0.5", "127.0.0.1"],
    });
  });
});

describe("needsReissue", () => {
  const names = { dnsNames: ["a", "localhost"], ips: ["127.0.0.1"] };
  const now = new Date("2026-01-01T00:00:00Z");
  it("keeps a certificate with the same names and time left", () => {
    expect(needsReissue({ ...names, validTo: new Date("2026-06-01") }, names, now)).toBe(false);
  });
  it("re-issues for other names or under 30 days left", () => {
    const later = new Date("2026-06-01");
    expect(needsReissue({ ...names, validTo: later }, { ...names, ips: ["10.0.0.1"] }, now)).toBe(
      true,
    );
    expect(needsReissue({ ...names, validTo: new Date("2026-01-20") }, names, now)).toBe(true);
  });
});

describe("ensureServerCertificate", () => {
  it("issues once, keeps it for the same names, issues again when they change", async () => {
    const d = mkdtempSync(join(tmpdir(), "gantry-srv-cert-"));
    const ca = await ensureClusterCa(d);
    const names = apiCertNames("127.0.0.2", "box");
    const first = await ensureServerCertificate(d, ca, names);
    expect(statSync(join(d, "api.key")).mode & 0o777).toBe(0o600);
    expect(certNames(new X509Certificate(first.certPem))).toEqual(names);
    expect((await ensureServerCertificate(d, ca, names)).certPem).toBe(first.certPem);
    const moved = await ensureServerCertificate(d, ca, apiCertNames("127.0.0.3", "box"));
    expect(moved.certPem).not.toBe(first.certPem);
    expect(new X509Certificate(moved.certPem).subjectAltName).toContain("IP Address:127.0.0.3");
  });
});
