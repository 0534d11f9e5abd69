import { describe, expect, it } from "vitest";
import { releasePhaseText } from "./releases.js";

describe("gantry releases: the RELEASE PHASE column", () => {
  const at = "2030-01-01T00:00:00.000Z";
  it("says how each release phase went", () => {
    expect(releasePhaseText(undefined)).toBe("-");
    expect(releasePhaseText({ status: "running", command: "m", startedAt: at })).toBe("running");
    expect(
      releasePhaseText({
        status: "succeeded",
        command: "m",
        startedAt: at,
        finishedAt: "2030-01-01T00:00:04.200Z",
        exitCode: 0,
      }),
    ).toBe("succeeded (4 s)");
    expect(
      releasePhaseText({
        status: "failed",
        command: "m",
        startedAt: at,
        finishedAt: at,
        exitCode: 1,
      }),
    ).toBe("failed (exit 1)");
    expect(
      releasePhaseText({ status: "failed", command: "m", startedAt: at, exitCode: null }),
    ).toBe("failed (signal)");
  });
});
