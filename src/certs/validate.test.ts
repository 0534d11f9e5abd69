import { describe, expect, it } from "vitest";
import { selfSigned } from "../../test/helpers/certs.js";
import { checkCertificate } from "./validate.js";

const files = { certFile: "site.crt", keyFile: "site.key" };

describe("checkCertificate", () => {
  it("accepts a matching, current certificate that covers the domains", async () => {
    const c = await selfSigned(["www.example.com", "*.apps.example.com"], { days: 90 });
    const info = checkCertificate({ ...c, ...files }, [
      "www.example.com",
      "hello.apps.example.com",
    ]);
    expect(info.domains).toEqual(["www.example.com", "*.apps.example.com"]);
    expect(info.issuer).toBe("CN=www.example.com");
    expect(new Date(info.notAfter).getTime() - Date.now()).toBeGreaterThan(89 * 86_400_000);
  });

  it("refuses a key that is not the certificate's, naming both files", async () => {
    const a = await selfSigned(["www.example.com"]);
    const b = await selfSigned(["www.example.com"]);
    expect(() =>
      checkCertificate({ certPem: a.certPem, keyPem: b.keyPem, ...files }, ["www.example.com"]),
    ).toThrow("site.key is not the key of site.crt: the certificate was made for another key");
  });

  it("refuses an expired certificate, one for other names, and files that are not PEM", async () => {
    const old = await selfSigned(["www.example.com"], {
      from: new Date(Date.now() - 10 * 86_400_000),
      days: 5,
    });
    expect(() => checkCertificate({ ...old, ...files }, [])).toThrow(/^site\.crt expired on /);
    const c = await selfSigned(["www.example.com"]);
    expect(() => checkCertificate({ ...c, ...files }, ["shop.example.com"])).toThrow(
      "site.crt does not cover shop.example.com (it is for www.example.com)",
    );
    expect(() => checkCertificate({ ...c, certPem: "hello", ...files }, [])).toThrow(
      /^site\.crt: no certificate found/,
    );
    expect(() => checkCertificate({ ...c, keyPem: "nope", ...files }, [])).toThrow(
      /^site\.key: not a readable private key/,
    );
  });
});
