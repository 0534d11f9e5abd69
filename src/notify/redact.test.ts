import { describe, expect, it } from "vitest";
import { redactUrl } from "./redact.js";

describe("redactUrl", () => {
  it("hides userinfo, query values and token-like path segments", () => {
    expect(redactUrl("https://user:pw@example.com/hook?token=abc&x=1")).toBe(
      "https://***@example.com/hook?token=***&x=***",
    );
    expect(
      redactUrl("https://hooks.slack.com/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
    ).toBe("https://hooks.slack.com/services/T0000000/B0000000/XXXX…");
    expect(redactUrl("http://127.0.0.1:9000/notify")).toBe("http://127.0.0.1:9000/notify");
  });
});
