import { describe, expect, it } from "vitest";
import { applyAppSet } from "../apps/app-set.js";
import type { App, BuildTest } from "../model/app.js";
import { finishTest, rejection, testCommand, testTimeoutMs } from "./test-step.js";

const running: BuildTest = {
  status: "running",
  command: "npm test",
  startedAt: "2026-01-01T00:00:00.000Z",
  instance: "test.1",
};
const at = (s: number): Date => new Date(Date.parse(running.startedAt) + s * 1000);

describe("the test step's pure part", () => {
  it("runs the app's test setting, else the Procfile test: line, else nothing", () => {
    expect(testCommand({ test: "make check" }, { processTypes: { test: "npm test" } })).toBe(
      "make check",
    );
    expect(testCommand({}, { processTypes: { web: "node s.js", test: "npm test" } })).toBe(
      "npm test",
    );
    expect(testCommand({}, { processTypes: { web: "node s.js" } })).toBeUndefined();
    expect(testCommand({}, {})).toBeUndefined();
    expect(testTimeoutMs({})).toBe(600_000);
    expect(testTimeoutMs({ testTimeoutMs: 3000 })).toBe(3000);
  });

  it("passes on exit 0 only, and says why it refuses otherwise", () => {
    const passed = finishTest(running, { kind: "exited", state: "exited", exitCode: 0 }, at(4), 1);
    expect(passed).toMatchObject({ status: "passed", exitCode: 0, durationMs: 4000 });
    expect(passed.error).toBeUndefined();
    const failed = finishTest(running, { kind: "exited", state: "crashed", exitCode: 1 }, at(2), 1);
    expect(failed).toMatchObject({ status: "failed", exitCode: 1, durationMs: 2000 });
    expect(rejection(failed)).toBe("tests failed (exit 1): no release was made");
    const killed = finishTest(
      running,
      { kind: "exited", state: "stopped", exitCode: null },
      at(1),
      1,
    );
    expect(killed.status).toBe("failed");
    const late = finishTest(running, { kind: "timeout" }, at(3), 3000);
    expect(late).toMatchObject({ status: "timeout", exitCode: null, durationMs: 3000 });
    expect(rejection(late)).toMatch(/^tests timed out after 3 s .*: no release was made$/);
    const gone = finishTest(running, { kind: "cancelled" }, at(1), 1);
    expect(gone.error).toMatch(/cancelled/);
  });

  it("apps:set test= removes the command and test-timeout=default the limit", () => {
    const app = { name: "a", test: "x", testTimeoutMs: 5000 } as App;
    const cleared = applyAppSet(app, { test: "", testTimeoutMs: null });
    expect(cleared).not.toHaveProperty("test");
    expect(cleared).not.toHaveProperty("testTimeoutMs");
    expect(applyAppSet(app, { test: "npm t" })).toMatchObject({
      test: "npm t",
      testTimeoutMs: 5000,
    });
  });
});
