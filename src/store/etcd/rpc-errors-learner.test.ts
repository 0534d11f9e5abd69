import { describe, expect, it } from "vitest";
import { classify } from "./rpc-errors.js";

describe("classify", () => {
  it("a learner's refusal was never sent: safe to send to another member", () => {
    const err = Object.assign(
      new Error("14 UNAVAILABLE: etcdserver: rpc not supported for learner"),
      {
        code: 14,
        details: "etcdserver: rpc not supported for learner",
      },
    );
    expect(classify(err).kind).toBe("not-sent");
  });
});
