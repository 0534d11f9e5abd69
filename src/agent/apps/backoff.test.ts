import { describe, expect, it } from "vitest";
import { nextCrashCount, restartDelay } from "./backoff.js";

describe("restart backoff", () => {
  it("doubles from 1 s up to 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => restartDelay(n))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it("starts over after 30 s of uptime", () => {
    expect(nextCrashCount(5, 29_999)).toBe(6);
    expect(nextCrashCount(5, 30_000)).toBe(1);
  });
});
