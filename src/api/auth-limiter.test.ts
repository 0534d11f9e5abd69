import { describe, expect, it } from "vitest";
import { AuthFailureLimiter } from "./auth-limiter.js";

describe("AuthFailureLimiter", () => {
  it("limits an address after max failures in the window, until the oldest leaves it", () => {
    let now = 1_000_000;
    const l = new AuthFailureLimiter({ max: 3, windowMs: 10_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfter("a")).toBe(0);
      l.fail("a");
      now += 1000;
    }
    // Failures at 0 s, 1 s, 2 s; now 3 s: the first leaves the window at 10 s.
    expect(l.retryAfter("a")).toBe(7);
    expect(l.retryAfter("b")).toBe(0);
    now += 6_999;
    expect(l.retryAfter("a")).toBe(1);
    now += 2;
    expect(l.retryAfter("a")).toBe(0);
  });

  it("keeps other addresses unaffected and bounds how many it tracks", () => {
    const l = new AuthFailureLimiter({ max: 1, windowMs: 60_000, maxAddresses: 2 });
    l.fail("a");
    l.fail("b");
    expect(l.retryAfter("a")).toBeGreaterThan(0);
    expect(l.retryAfter("c")).toBe(0);
    l.fail("c");
    // "a" failed longest ago: forgotten to make room.
    expect(l.retryAfter("a")).toBe(0);
    expect(l.retryAfter("b")).toBeGreaterThan(0);
    expect(l.retryAfter("c")).toBeGreaterThan(0);
  });

  it("keeps no more than max failures per address however many come", () => {
    let now = 0;
    const l = new AuthFailureLimiter({ max: 2, windowMs: 1000, now: () => now });
    for (let i = 0; i < 1000; i++) l.fail("a");
    expect(l.retryAfter("a")).toBe(1);
    now = 1001;
    expect(l.retryAfter("a")).toBe(0);
  });
});
