import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Debouncer, fireAt } from "./debounce.js";

describe("fireAt", () => {
  it("waits for MIN of quiet, but no longer than MAX after the first change", () => {
    const wait = { minMs: 100, maxMs: 1000 };
    expect(fireAt(0, 0, wait)).toBe(100);
    expect(fireAt(0, 500, wait)).toBe(600);
    expect(fireAt(0, 950, wait)).toBe(1000);
  });
});

describe("Debouncer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("coalesces a burst into one call after it has been quiet", () => {
    const fire = vi.fn();
    const d = new Debouncer({ minMs: 100, maxMs: 1000 }, fire);
    d.trigger();
    vi.advanceTimersByTime(60);
    d.trigger();
    vi.advanceTimersByTime(60);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(40);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it("fires at MAX under a steady stream of changes, then starts a new burst", () => {
    const fire = vi.fn();
    const d = new Debouncer({ minMs: 100, maxMs: 300 }, fire);
    for (let t = 0; t < 300; t += 50) {
      d.trigger();
      vi.advanceTimersByTime(50);
    }
    expect(fire).toHaveBeenCalledTimes(1); // at 300 ms, though changes never stopped
    d.trigger();
    vi.advanceTimersByTime(99);
    expect(fire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(2);
  });

  it("cancel drops a pending call", () => {
    const fire = vi.fn();
    const d = new Debouncer({ minMs: 100, maxMs: 100 }, fire);
    d.trigger();
    d.cancel();
    vi.advanceTimersByTime(500);
    expect(fire).not.toHaveBeenCalled();
  });
});
