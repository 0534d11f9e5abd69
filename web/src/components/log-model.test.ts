import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LogModel } from "./log-model";

const T = "2030-01-01T00:00:00.000Z";
const raws = (from: number, n: number, src = "web.1"): string[] =>
  Array.from(
    { length: n },
    (_, i) => `${T} ${src} line ${from + i}${(from + i) % 2 ? " odd" : ""}`,
  );

let frames: (() => void)[] = [];
beforeEach(() => {
  frames = [];
  vi.stubGlobal("requestAnimationFrame", (fn: () => void) => frames.push(fn));
  vi.stubGlobal("cancelAnimationFrame", () => undefined);
});
afterEach(() => vi.unstubAllGlobals());
const frame = (): void => {
  const run = frames;
  frames = [];
  for (const f of run) f();
};

describe("LogModel", () => {
  it("appends what arrived once per frame, with one change for the view", () => {
    const m = new LogModel(10);
    let renders = 0;
    m.subscribe(() => renders++);
    m.add(raws(0, 3));
    m.add(raws(3, 2));
    expect(m.count).toBe(0);
    expect(frames).toHaveLength(1);
    frame();
    expect([m.count, renders]).toEqual([5, 1]);
    expect(m.lineAt(4)?.text).toBe("line 4");
    expect([...m.types]).toEqual(["web"]);
  });

  it("counts the rows dropped from the top when the ring is full", () => {
    const m = new LogModel(10);
    m.add(raws(0, 8));
    frame();
    m.add(raws(8, 5));
    frame();
    expect([m.count, m.dropped]).toEqual([10, 3]);
    expect(m.lineAt(0)?.text).toBe("line 3 odd");
  });

  it("searches the ring, then new lines as they come, and drops hits that leave the ring", () => {
    const m = new LogModel(10);
    m.add(raws(0, 10));
    frame();
    m.setQuery(" ODD ");
    expect(m.count).toBe(5);
    expect(m.lineAt(0)?.text).toBe("line 1 odd");
    const before = m.dropped;
    m.add(raws(10, 4)); // drops lines 0-3 (hits 1 and 3), adds hits 11 and 13
    frame();
    expect(m.count).toBe(5);
    expect(m.dropped - before).toBe(2);
    expect(m.lineAt(4)?.text).toBe("line 13 odd");
    m.setQuery("");
    expect(m.count).toBe(10);
  });

  it("holds lines while paused, counts them, and draws them on resume", () => {
    const m = new LogModel(10);
    m.add(raws(0, 2));
    frame();
    m.setPaused(true);
    m.add(raws(2, 3));
    frame();
    expect([m.count, m.heldCount]).toEqual([2, 3]);
    m.setPaused(false);
    expect([m.count, m.heldCount]).toEqual([5, 0]);
    m.clear();
    expect(m.count).toBe(0);
  });
});
