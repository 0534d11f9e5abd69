import { describe, expect, it } from "vitest";
import { BACKOFF, giveUp, retryDelayMs } from "./backoff.js";

describe("retry backoff", () => {
  it("doubles from 1 s and is capped at 5 min", () => {
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, 0))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(9, 0)).toBe(256_000);
    expect(retryDelayMs(10, 0)).toBe(300_000);
    expect(retryDelayMs(19, 0)).toBe(300_000);
  });
  it("jitter takes at most a fifth off", () => {
    expect(retryDelayMs(3, 0.999)).toBeGreaterThanOrEqual(4000 * 0.8);
    expect(retryDelayMs(3, 0.999)).toBeLessThan(4000);
    expect(retryDelayMs(3, 0.5)).toBe(3600);
  });
  it("gives up after 20 attempts or a day", () => {
    const t0 = 1_000_000;
    expect(giveUp(19, t0, t0 + 1000)).toBe(false);
    expect(giveUp(BACKOFF.maxAttempts, t0, t0 + 1000)).toBe(true);
    expect(giveUp(2, t0, t0 + 24 * 3_600_000)).toBe(true);
    expect(giveUp(2, t0, t0 + 23 * 3_600_000)).toBe(false);
  });
});
