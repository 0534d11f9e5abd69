import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.js";

describe("Backoff", () => {
  it("doubles the wait between corrections of one item, up to the cap", () => {
    const b = new Backoff(1000, 8000);
    let now = 0;
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      expect(b.due("kv/a", now)).toBe(true);
      b.corrected("kv/a", now);
      const next = b.dueAt("kv/a", now);
      waits.push(next - now);
      expect(b.due("kv/a", next - 1)).toBe(false);
      now = next;
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it("against a writer changing the item every 100 ms, corrects a handful of times in 20 s", () => {
    const b = new Backoff();
    let corrections = 0;
    for (let now = 0; now < 20_000; now += 100) {
      if (b.due("kv/a", now)) {
        b.corrected("kv/a", now);
        corrections++;
      }
    }
    // 0, 1, 3, 7, 15 s
    expect(corrections).toBe(5);
  });

  it("starts again from 1 s once a correction held for twice its window", () => {
    const b = new Backoff();
    b.corrected("kv/a", 0);
    b.corrected("kv/a", 1000);
    expect(b.attempts("kv/a", 1000)).toBe(2);
    expect(b.dueAt("kv/a", 1000)).toBe(3000);
    // held: 2 s window, so after 4 s it is forgotten
    expect(b.attempts("kv/a", 5001)).toBe(0);
    b.corrected("kv/a", 5001);
    expect(b.dueAt("kv/a", 5001)).toBe(6001);
  });

  it("keeps items apart", () => {
    const b = new Backoff();
    b.corrected("kv/a", 0);
    expect(b.due("kv/b", 0)).toBe(true);
    expect(b.due("kv/a", 0)).toBe(false);
  });
});
