import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { selfSigned } from "../../test/helpers/certs.js";
import { SecretBox } from "../apps/secrets.js";
import { CertRecordSchema, openCert, sealCert } from "./record.js";
import { checkCertificate } from "./validate.js";

describe("cert records", () => {
  it("keep the key sealed, bound to the app, and open to what a router serves", async () => {
    const c = await selfSigned(["www.example.com"]);
    const info = checkCertificate({ ...c, certFile: "c", keyFile: "k" }, ["www.example.com"]);
    const box = new SecretBox({ key: randomBytes(32) });
    const rec = sealCert(box, "hello", c, info, "manual");
    expect(CertRecordSchema.parse(JSON.parse(JSON.stringify(rec)))).toEqual(rec);
    expect(JSON.stringify(rec)).not.toContain("PRIVATE KEY");
    expect(openCert(box, rec)).toEqual({
      domains: ["www.example.com"],
      certPem: c.certPem,
      keyPem: c.keyPem,
      label: "hello",
    });
    // Copied onto another app, or opened with another data dir's key: refused.
    expect(() => openCert(box, { ...rec, app: "other" })).toThrow(/cannot decrypt cert other\/key/);
    expect(() => openCert(new SecretBox({ key: randomBytes(32) }), rec)).toThrow(/cannot decrypt/);
  });
});
