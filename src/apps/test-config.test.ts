import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretBox } from "./secrets.js";
import { applyTestChange } from "./test-config.js";

const box = new SecretBox({ key: randomBytes(32) });

describe("TEST config", () => {
  it("is sealed with its own context: a value copied between scopes does not decrypt", () => {
    const test = box.seal("hello", { DB: "postgres://t" }, "test");
    expect(box.open("hello", test, "test")).toEqual({ DB: "postgres://t" });
    expect(() => box.open("hello", test)).toThrow(/cannot decrypt/);
    const release = box.seal("hello", { DB: "postgres://p" });
    expect(() => box.open("hello", release, "test")).toThrow(/cannot decrypt/);
    expect(() => box.open("other", test, "test")).toThrow(/cannot decrypt/);
  });

  it("changes only what differs, and refuses a name both set and unset", () => {
    const seal = (_: string, v: string): string => `sealed:${v}`;
    const cur = { version: 2, values: { A: "sealed:1", B: "sealed:2" } };
    const plain = { A: "1", B: "2" };
    expect(applyTestChange(cur, plain, { A: "1" }, ["C"], seal)).toBeUndefined();
    expect(applyTestChange(cur, plain, { A: "9" }, ["B"], seal)).toEqual({
      version: 3,
      values: { A: "sealed:9" },
    });
    expect(() => applyTestChange(cur, plain, { A: "9" }, ["A"], seal)).toThrow(
      /A is both set and unset/,
    );
  });
});
