import { describe, expect, it } from "vitest";
import type { CheckView, StoredCheck } from "../model/service.js";
import { deregistrationDue } from "./deregister.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const def = (id: string, deregisterAfter?: string): StoredCheck => ({
  type: "tcp",
  id,
  interval: "1s",
  ...(deregisterAfter === undefined ? {} : { deregisterAfter }),
});
const result = (id: string, status: CheckView["status"], sinceMs?: number): CheckView => ({
  id,
  name: id,
  type: "tcp",
  status,
  output: "",
  ...(sinceMs === undefined
    ? {}
    : { since: new Date(sinceMs).toISOString(), updatedAt: new Date(sinceMs).toISOString() }),
});

describe("deregistrationDue", () => {
  it("is due once a check has been critical for its deregisterAfter", () => {
    const d = deregistrationDue([def("a", "10s")], [result("a", "critical", T0)], T0 + 10_000);
    expect(d.due).toEqual({ checkId: "a", criticalForMs: 10_000, deregisterAfterMs: 10_000 });
  });

  it("is not due before, and says when to look again", () => {
    const d = deregistrationDue([def("a", "10s")], [result("a", "critical", T0)], T0 + 4000);
    expect(d.due).toBeUndefined();
    expect(d.recheckAt).toBe(T0 + 10_000);
  });

  it("ignores passing or warning checks, checks without deregisterAfter, and results without since", () => {
    const now = T0 + 3_600_000;
    expect(deregistrationDue([def("a", "1s")], [result("a", "warning", T0)], now)).toEqual({});
    expect(deregistrationDue([def("a")], [result("a", "critical", T0)], now)).toEqual({});
    expect(deregistrationDue([def("a", "1s")], [result("a", "critical")], now)).toEqual({});
  });

  it("looks at every check with a deregisterAfter", () => {
    const d = deregistrationDue(
      [def("a", "1m"), def("b", "5s")],
      [result("a", "critical", T0), result("b", "critical", T0)],
      T0 + 6000,
    );
    expect(d.due?.checkId).toBe("b");
  });
});
