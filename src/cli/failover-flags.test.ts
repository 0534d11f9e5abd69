import { describe, expect, it } from "vitest";
import { parseConnectTimeout, parseNodeGrace } from "./failover-flags.js";

describe("failover flags", () => {
  it("--node-grace: a duration from 0s to 1h", () => {
    expect(parseNodeGrace(undefined)).toBeUndefined();
    expect(parseNodeGrace("3s")).toBe(3000);
    expect(parseNodeGrace("0s")).toBe(0);
    expect(parseNodeGrace("1m30s")).toBe(90_000);
    expect(() => parseNodeGrace("3")).toThrow(/--node-grace must be a duration from 0s to 1h/);
    expect(() => parseNodeGrace("2h")).toThrow(/got "2h"/);
  });

  it("--connect-timeout: a duration from 50ms to 60s", () => {
    expect(parseConnectTimeout(undefined)).toBeUndefined();
    expect(parseConnectTimeout("250ms")).toBe(250);
    expect(() => parseConnectTimeout("10ms")).toThrow(/from 50ms to 60s/);
    expect(() => parseConnectTimeout("fast")).toThrow(/got "fast"/);
  });
});
