/**
 * Tests before release (issue 15), the pure part: which command a build's tests run, how long
 * they may take, and what their end means for the build and the push.
 */
import type { App, Build, BuildTest } from "../model/app.js";

/** How long a test run may take when the app does not say (`test-timeout`). */
export const DEFAULT_TEST_TIMEOUT_MS = 10 * 60_000;

/** The app's `test` setting, else the build's Procfile `test:` line; undefined: no test step. */
export function testCommand(
  app: Pick<App, "test">,
  build: Pick<Build, "processTypes">,
): string | undefined {
  const cmd = app.test ?? build.processTypes?.["test"];
  return cmd === undefined || cmd.trim() === "" ? undefined : cmd;
}

export const testTimeoutMs = (app: Pick<App, "testTimeoutMs">): number =>
  app.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS;

/** How a test run ended, as the test step saw it. */
export type TestEnd =
  | { kind: "exited"; exitCode: number | null | undefined; state: "exited" | "crashed" | "stopped" }
  | { kind: "timeout" }
  | { kind: "cancelled" }
  | { kind: "lost"; reason: string };

/** `3 s`, `2 min`, `1 min 30 s`: a duration for people. */
export function humanMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
}

/** The finished test record: its status, exit code and error, from how it ended (pure). */
export function finishTest(
  running: BuildTest,
  end: TestEnd,
  finishedAt: Date,
  limitMs: number,
): BuildTest {
  const durationMs = Math.max(0, finishedAt.getTime() - Date.parse(running.startedAt));
  const base = { ...running, finishedAt: finishedAt.toISOString(), durationMs };
  switch (end.kind) {
    case "exited": {
      const code = end.exitCode ?? (end.state === "exited" ? 0 : 1);
      if (code === 0 && end.state === "exited") return { ...base, status: "passed", exitCode: 0 };
      return { ...base, status: "failed", exitCode: code, error: `tests failed (exit ${code})` };
    }
    case "timeout":
      return {
        ...base,
        status: "timeout",
        exitCode: null,
        error: `tests timed out after ${humanMs(limitMs)} (the limit: apps:set test-timeout=…)`,
      };
    case "cancelled":
      return {
        ...base,
        status: "failed",
        exitCode: null,
        error: "the test run was cancelled: the push went away",
      };
    case "lost":
      return { ...base, status: "failed", exitCode: null, error: end.reason };
  }
}

/** What the push is told when the tests did not pass. */
export const rejection = (t: BuildTest): string =>
  `${t.error ?? `tests ${t.status}`}: no release was made`;
