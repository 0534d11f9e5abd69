import { describe, expect, it } from "vitest";
import { Redactor, secretStrings } from "./redact.js";

describe("Redactor", () => {
  it("replaces every secret, longest first, in every text of a result", () => {
    const r = new Redactor(["pass", "password123", ""]);
    expect(r.redact("a password123 and pass")).toBe("a [secret] and [secret]");
    const out = r.result({
      id: "exec:pass",
      type: "exec",
      name: "pass",
      state: "web",
      handler: false,
      status: "failed",
      changes: ["set pass"],
      diff: "-pass\n",
      message: "pass failed",
      durationMs: 1,
    });
    expect(JSON.stringify(out)).not.toContain('pass"');
    expect(out).toMatchObject({
      id: "exec:[secret]",
      changes: ["set [secret]"],
      message: "[secret] failed",
    });
  });

  it("learns secrets during a run and never redacts the empty string", () => {
    const r = new Redactor();
    expect(r.redact("token abc")).toBe("token abc");
    r.add("abc");
    r.add("");
    expect(r.redact("token abc")).toBe("token [secret]");
  });

  it("takes the printable forms of structured secret vars", () => {
    expect(secretStrings({ user: "u", pin: 1234, list: ["x", true] })).toEqual([
      "u",
      "1234",
      "x",
      "true",
    ]);
    expect(secretStrings(null)).toEqual([]);
  });
});
