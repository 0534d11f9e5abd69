import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ResyncAudit } from "./resync-audit.js";

describe("ResyncAudit", () => {
  let lines: string[];
  let finds: number;
  let audit: ResyncAudit;
  beforeEach(() => {
    vi.useFakeTimers();
    lines = [];
    finds = 0;
    audit = new ResyncAudit(
      (l) => lines.push(l),
      () => finds++,
    );
  });
  afterEach(() => {
    audit.stop();
    vi.useRealTimers();
  });

  it("counts and logs work found only because of the resync", () => {
    audit.mark("hello", "resync");
    const why = audit.take("hello");
    audit.applied("hello", why, 42, "v2 is live");
    expect(audit.finds).toBe(0);
    vi.advanceTimersByTime(1000);
    expect([audit.finds, finds]).toEqual([1, 1]);
    expect(lines).toEqual([
      "deploy controller: hello: the periodic resync found work no event or wake-up announced (v2 is live, at revision 42): a missed watch event or a missing wake-up — a bug",
    ]);
    expect(audit.reconciles.resync).toBe(1);
  });

  it("does not count work an event or a wake-up also asked for", () => {
    for (const other of ["event", "wake", "start"] as const) {
      audit.mark("hello", "resync");
      audit.mark("hello", other);
      audit.applied("hello", audit.take("hello"), 42, "progress");
    }
    vi.advanceTimersByTime(5000);
    expect(audit.finds).toBe(0);
    expect(audit.reconciles).toMatchObject({ resync: 3, event: 1, wake: 1, start: 1 });
  });

  it("does not count an event that was in flight: it arrives late, for a revision already read", () => {
    audit.mark("hello", "resync");
    audit.applied("hello", audit.take("hello"), 42, "v2 is live");
    audit.event("hello", 41);
    vi.advanceTimersByTime(1000);
    expect(audit.finds).toBe(0);
    // An event for a later revision (the controller's own write) explains nothing.
    audit.mark("hello", "resync");
    audit.applied("hello", audit.take("hello"), 50, "v3 is live");
    audit.event("hello", 51);
    vi.advanceTimersByTime(1000);
    expect(audit.finds).toBe(1);
  });
});
