import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ActiveCheck, Probes, ProbeResult } from "./probes/index.js";
import { CheckRunner, FIRST_PASS_EVERY_MS, FIRST_PASS_WINDOW_MS } from "./runner.js";

const HTTP: ActiveCheck = { id: "http", type: "http", path: "/", interval: "1s", timeout: "2s" };

/** A runner whose http probe answers from `answers` (the last one again once they run out). */
function runner(check: ActiveCheck, answers: ProbeResult["status"][]) {
  const calls: number[] = [];
  const result = (): ProbeResult => {
    calls.push(Date.now());
    const status = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    return { status, output: status };
  };
  const probes: Probes = {
    http: async () => result(),
    tcp: async () => result(),
    exec: async () => result(),
  };
  const r = new CheckRunner({
    check,
    target: { address: "127.0.0.1", port: 20_001 },
    probes,
    stored: undefined,
    report: async () => undefined,
  });
  return { r, calls };
}

describe("CheckRunner", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("checks a new instance often until it first passes, then at its interval", async () => {
    const { r, calls } = runner(HTTP, ["critical", "critical", "critical", "passing"]);
    r.start();
    await vi.advanceTimersByTimeAsync(1000);
    // At once, then every 250 ms: it answers on the 4th run, 750 ms in (not 3 s in)...
    expect(calls.length).toBe(4);
    expect(calls[3]! - calls[0]!).toBe(3 * FIRST_PASS_EVERY_MS);
    // ...and from then on once a second.
    await vi.advanceTimersByTimeAsync(3000);
    expect(calls.length).toBe(7);
    await r.stop();
  });

  it("keeps its interval for a check that never passes, after the first minute", async () => {
    const { r, calls } = runner(HTTP, ["critical"]);
    r.start();
    await vi.advanceTimersByTimeAsync(FIRST_PASS_WINDOW_MS);
    const fast = calls.length;
    expect(fast).toBeGreaterThan(200);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.length - fast).toBe(10);
    await r.stop();
  });

  it("runs exec checks at their interval from the start", async () => {
    const exec: ActiveCheck = { id: "x", type: "exec", command: ["true"], interval: "1s" };
    const { r, calls } = runner(exec, ["critical"]);
    r.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(calls.length).toBe(4);
    await r.stop();
  });
});
