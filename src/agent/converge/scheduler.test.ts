import { describe, expect, it } from "vitest";
import type { Trigger } from "../../model/converge.js";
import { RunScheduler } from "./scheduler.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const key = (k: string): Trigger => ({ kind: "key", key: k });

describe("RunScheduler", () => {
  it("folds changes that arrive within the debounce into one run", async () => {
    const runs: Trigger[][] = [];
    const s = new RunScheduler({ debounceMs: 30, run: async (t) => void runs.push(t) });
    s.request(key("a"));
    s.request(key("b"));
    s.request(key("a"));
    await sleep(100);
    expect(runs).toEqual([[key("a"), key("b")]]);
  });

  it("queues exactly one more run for any number of changes during a run, never overlapping", async () => {
    const spans: { start: number; end: number; triggers: Trigger[] }[] = [];
    let active = 0;
    let maxActive = 0;
    const s = new RunScheduler({
      debounceMs: 10,
      run: async (triggers) => {
        active++;
        maxActive = Math.max(maxActive, active);
        const start = Date.now();
        await sleep(150);
        spans.push({ start, end: Date.now(), triggers });
        active--;
      },
    });
    s.request({ kind: "start" });
    await sleep(50); // the first run is going
    for (let i = 0; i < 20; i++) {
      s.request(key(`k${i % 3}`));
      await sleep(3);
    }
    await sleep(450);
    expect(spans).toHaveLength(2);
    expect(maxActive).toBe(1);
    expect(spans[1]!.start).toBeGreaterThanOrEqual(spans[0]!.end);
    expect(spans[1]!.triggers).toEqual([key("k0"), key("k1"), key("k2")]);
  });

  it("starts at the latest after maxWait even while changes keep coming", async () => {
    const runs: number[] = [];
    const t0 = Date.now();
    const s = new RunScheduler({
      debounceMs: 50,
      maxWaitMs: 120,
      run: async () => void runs.push(Date.now() - t0),
    });
    for (let i = 0; i < 12; i++) {
      s.request(key("x"));
      await sleep(20);
    }
    await s.stop();
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs[0]!).toBeLessThan(200);
  });

  it("a failing run does not stop later runs", async () => {
    let calls = 0;
    const s = new RunScheduler({
      debounceMs: 5,
      run: async () => {
        calls++;
        throw new Error("boom");
      },
    });
    s.request(key("a"));
    await sleep(40);
    s.request(key("b"));
    await sleep(40);
    expect(calls).toBe(2);
  });
});
