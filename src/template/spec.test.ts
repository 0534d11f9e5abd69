import { describe, expect, it } from "vitest";
import { parseDuration, parseTemplateSpec, parseWaitOption } from "./spec.js";

describe("parseTemplateSpec", () => {
  it("splits SRC:DEST and keeps the rest as the command, colons included", () => {
    expect(parseTemplateSpec("in.tmpl:out.conf")).toEqual({ source: "in.tmpl", dest: "out.conf" });
    expect(parseTemplateSpec("in.tmpl:/etc/x.conf:echo a:b 'c d'")).toEqual({
      source: "in.tmpl",
      dest: "/etc/x.conf",
      command: { line: "echo a:b 'c d'", argv: ["echo", "a:b", "c d"] },
    });
    expect(parseTemplateSpec("a:b:")).toEqual({ source: "a", dest: "b" });
  });

  it("names what is wrong", () => {
    expect(() => parseTemplateSpec("in.tmpl")).toThrow(
      /expected SRC:DEST\[:COMMAND\], got "in.tmpl"/,
    );
    expect(() => parseTemplateSpec(":out")).toThrow(/expected SRC:DEST/);
    expect(() => parseTemplateSpec("a:b:echo 'x")).toThrow(/unterminated/);
  });
});

describe("--wait", () => {
  it("parses MIN[:MAX] with MAX defaulting to 4×MIN", () => {
    expect(parseWaitOption("100ms:1s")).toEqual({ minMs: 100, maxMs: 1000 });
    expect(parseWaitOption("2s")).toEqual({ minMs: 2000, maxMs: 8000 });
    expect(parseWaitOption("0")).toEqual({ minMs: 0, maxMs: 0 });
    expect(parseDuration("1.5s", "x")).toBe(1500);
    expect(parseDuration("1m", "x")).toBe(60_000);
  });

  it("refuses what it cannot read", () => {
    expect(() => parseWaitOption("5")).toThrow(/--wait must be a duration/);
    expect(() => parseWaitOption("2s:1s")).toThrow(/MAX \(1s\) must not be less than MIN \(2s\)/);
    expect(() => parseWaitOption("1s:2s:3s")).toThrow(/MIN\[:MAX\]/);
  });
});
