import { describe, expect, it } from "vitest";
import { formatMode, modeField, parseMode } from "./mode.js";

describe("mode", () => {
  it("parses three- and four-digit octal strings", () => {
    expect(parseMode("0644")).toBe(0o644);
    expect(parseMode("644")).toBe(0o644);
    expect(parseMode("2775")).toBe(0o2775);
    expect(parseMode("0600")).toBe(0o600);
  });

  it("refuses what is not an octal mode", () => {
    for (const bad of ["", "0", "64", "0648", "rw-r--r--", "00644", "0x1a4"])
      expect(parseMode(bad)).toBeUndefined();
  });

  it("formats a mode with four digits, ignoring the file type bits", () => {
    expect(formatMode(0o100644)).toBe("0644");
    expect(formatMode(0o40755)).toBe("0755");
    expect(formatMode(0o4755)).toBe("4755");
  });

  it("accepts quoted octal strings in a state file, not numbers", () => {
    expect(modeField.safeParse("0644").success).toBe(true);
    expect(modeField.safeParse("0999").success).toBe(false);
    const num = modeField.safeParse(644);
    expect(num.success).toBe(false);
    expect(num.error?.issues[0]?.message).toMatch(/octal string in quotes/);
  });
});
