import { describe, expect, it } from "vitest";
import type { CheckView } from "../model/service.js";
import { OUTPUT_EVERY_MS, RESEND_AFTER_MS, shouldReport } from "./report-policy.js";

const stored = (status: CheckView["status"], output: string): CheckView => ({
  id: "c",
  name: "c",
  type: "http",
  status,
  output,
  updatedAt: "2026-01-01T00:00:00.000Z",
  since: "2026-01-01T00:00:00.000Z",
});
const NOW = 1_000_000;

describe("shouldReport", () => {
  it("reports when the server has no result", () => {
    expect(shouldReport({ status: "passing", output: "" }, undefined, undefined, NOW)).toBe(true);
  });

  it("stays quiet while the result matches what is stored", () => {
    expect(
      shouldReport({ status: "passing", output: "ok" }, stored("passing", "ok"), undefined, NOW),
    ).toBe(false);
  });

  it("reports a status change at once", () => {
    const last = { result: { status: "passing" as const, output: "ok" }, at: NOW - 100 };
    expect(
      shouldReport({ status: "critical", output: "refused" }, stored("passing", "ok"), last, NOW),
    ).toBe(true);
  });

  it("does not resend what it just sent while the stored view lags, but does later", () => {
    const r = { status: "critical" as const, output: "refused" };
    const last = { result: r, at: NOW - 100 };
    expect(shouldReport(r, stored("passing", "ok"), last, NOW)).toBe(false);
    expect(shouldReport(r, stored("passing", "ok"), last, NOW + RESEND_AFTER_MS)).toBe(true);
  });

  it("sends output-only changes at most every OUTPUT_EVERY_MS", () => {
    const last = { result: { status: "passing" as const, output: "t=1" }, at: NOW };
    const r = { status: "passing" as const, output: "t=2" };
    expect(shouldReport(r, stored("passing", "t=1"), last, NOW + 1000)).toBe(false);
    expect(shouldReport(r, stored("passing", "t=1"), last, NOW + OUTPUT_EVERY_MS)).toBe(true);
  });
});
