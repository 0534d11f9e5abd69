import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAcmeFlags, parseRenewBefore } from "./acme-flags.js";
import { selfSigned } from "../../test/helpers/certs.js";

const DIR = "https://acme.example.com/directory";
const DAY = 86_400_000;

describe("the ACME flags", () => {
  it("are off without --acme-directory, with a 30-day renewal by default", () => {
    expect(parseAcmeFlags({})).toBeUndefined();
    expect(parseAcmeFlags({ acmeDirectory: DIR })).toEqual({ url: DIR, renewBeforeMs: 30 * DAY });
  });

  it("take an e-mail, a CA file and a renew-before", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "acme-flags-")), "ca.pem");
    writeFileSync(file, (await selfSigned(["ca.test"])).certPem);
    const got = parseAcmeFlags({
      acmeDirectory: DIR,
      acmeEmail: "ops@example.com",
      acmeCa: file,
      acmeRenewBefore: "12h",
    });
    expect(got).toMatchObject({ email: "ops@example.com", renewBeforeMs: 12 * 3_600_000 });
    expect(got?.caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it("refuse bad values in one line naming the flag", () => {
    const bad: [Parameters<typeof parseAcmeFlags>[0], RegExp][] = [
      [{ acmeEmail: "ops@example.com" }, /^--acme-email needs --acme-directory URL$/],
      [{ acmeRenewBefore: "1d" }, /^--acme-renew-before needs --acme-directory/],
      [{ acmeDirectory: "http://acme.example.com/dir" }, /^--acme-directory must be an https:\/\//],
      [{ acmeDirectory: "not a url" }, /^--acme-directory must be/],
      [{ acmeDirectory: DIR, acmeEmail: "nobody" }, /^--acme-email must be an e-mail address/],
      [
        { acmeDirectory: DIR, acmeCa: "/nonexistent/ca.pem" },
        /^--acme-ca: cannot read \/nonexistent\/ca\.pem \(ENOENT\)$/,
      ],
      [{ acmeDirectory: DIR, acmeRenewBefore: "0s" }, /^--acme-renew-before must be a duration/],
      [{ acmeDirectory: DIR, acmeRenewBefore: "400d" }, /^--acme-renew-before must be/],
      [{ acmeDirectory: DIR, acmeRenewBefore: "30" }, /^--acme-renew-before must be/],
    ];
    for (const [flags, message] of bad)
      expect(() => parseAcmeFlags(flags), JSON.stringify(flags)).toThrow(message);
  });

  it("refuse a CA file without a certificate", () => {
    const file = join(mkdtempSync(join(tmpdir(), "acme-flags-")), "empty.pem");
    writeFileSync(file, "hello\n");
    expect(() => parseAcmeFlags({ acmeDirectory: DIR, acmeCa: file })).toThrow(
      /^--acme-ca: .*empty\.pem holds no PEM certificate/,
    );
  });

  it("read renew-before in days, hours and seconds", () => {
    expect(parseRenewBefore("30d")).toBe(30 * DAY);
    expect(parseRenewBefore("1d12h")).toBe(1.5 * DAY);
    expect(parseRenewBefore("50s")).toBe(50_000);
  });
});
