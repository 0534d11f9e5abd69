import { describe, expect, it } from "vitest";
import { nextRecord, parseRecord } from "./record.js";

const t1 = new Date("2026-01-01T00:00:00.000Z");
const t2 = new Date("2026-01-01T00:01:00.000Z");

describe("nextRecord", () => {
  it("starts a record with since = now", () => {
    expect(nextRecord(undefined, { status: "passing", output: "ok" }, t1)).toEqual({
      status: "passing",
      output: "ok",
      updatedAt: t1.toISOString(),
      since: t1.toISOString(),
    });
  });

  it("writes nothing when status and output are the same", () => {
    const prev = nextRecord(undefined, { status: "passing", output: "ok" }, t1)!;
    expect(nextRecord(prev, { status: "passing", output: "ok" }, t2)).toBeUndefined();
  });

  it("keeps since when only the output changes, and moves it with the status", () => {
    const prev = nextRecord(undefined, { status: "critical", output: "refused" }, t1)!;
    const sameStatus = nextRecord(prev, { status: "critical", output: "timed out" }, t2)!;
    expect(sameStatus).toMatchObject({ since: t1.toISOString(), updatedAt: t2.toISOString() });
    const changed = nextRecord(prev, { status: "passing", output: "refused" }, t2)!;
    expect(changed.since).toBe(t2.toISOString());
  });
});

describe("parseRecord", () => {
  it("accepts records and refuses anything else", () => {
    const good = JSON.stringify({ status: "warning", output: "", updatedAt: "x", since: "x" });
    expect(parseRecord(good)?.status).toBe("warning");
    expect(parseRecord("not json")).toBeUndefined();
    expect(
      parseRecord(JSON.stringify({ status: "fine", output: "", updatedAt: "x", since: "x" })),
    ).toBeUndefined();
  });
});
