import { describe, expect, it } from "vitest";
import { checkSignature, signBody } from "./signature.js";

const body = Buffer.from('{"ref":"refs/heads/main","after":"abc"}');
const secret = "s3cret";

describe("webhook signatures", () => {
  it("accepts GitHub's X-Hub-Signature-256 and Gitea's X-Gitea-Signature", () => {
    const hex = signBody(body, secret);
    expect(checkSignature({ "x-hub-signature-256": `sha256=${hex}` }, body, secret)).toEqual({
      ok: true,
      header: "X-Hub-Signature-256",
    });
    expect(checkSignature({ "x-gitea-signature": hex }, body, secret)).toEqual({
      ok: true,
      header: "X-Gitea-Signature",
    });
  });

  it("refuses a signature made with another secret, of another body, or missing", () => {
    const other = signBody(body, "other");
    expect(checkSignature({ "x-hub-signature-256": `sha256=${other}` }, body, secret).ok).toBe(
      false,
    );
    const tampered = Buffer.from(body.toString().replace("abc", "abd"));
    const hex = signBody(body, secret);
    expect(checkSignature({ "x-gitea-signature": hex }, tampered, secret).ok).toBe(false);
    expect(checkSignature({}, body, secret)).toMatchObject({ ok: false, reason: /no signature/ });
  });

  it("refuses malformed headers without throwing", () => {
    const hex = signBody(body, secret);
    expect(checkSignature({ "x-hub-signature-256": hex }, body, secret)).toMatchObject({
      ok: false,
      reason: /sha256=/,
    });
    expect(checkSignature({ "x-gitea-signature": "zz" }, body, secret).ok).toBe(false);
    expect(checkSignature({ "x-gitea-signature": hex.slice(2) }, body, secret).ok).toBe(false);
  });
});
