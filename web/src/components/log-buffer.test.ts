import { describe, expect, it } from "vitest";
import { LineSplitter, LogRing, parseLine, ResumeFilter, search } from "./log-buffer";

const T = "2030-01-01T00:00:00.000Z";
const raw = (i: number, text = `line ${i}`): string => `${T} web.1 ${text}`;

describe("LineSplitter", () => {
  it("keeps a line cut between chunks until its end arrives", () => {
    const s = new LineSplitter();
    expect(s.push("a b c\nd e")).toEqual(["a b c"]);
    expect(s.push(" f\n\ng h i\n")).toEqual(["d e f", "g h i"]);
    expect(s.push("")).toEqual([]);
  });
});

describe("parseLine", () => {
  it("splits time, source and text (the text keeps its spaces)", () => {
    expect(parseLine(`${T} web.1 hello  there `, 3)).toEqual({
      seq: 3,
      time: T,
      source: "web.1",
      text: "hello  there ",
    });
    expect(parseLine(`${T} build `, 0).text).toBe("");
    expect(parseLine("garbage", 0)).toEqual({ seq: 0, time: "", source: "", text: "garbage" });
  });
});

describe("LogRing", () => {
  it("keeps the last capacity lines by seq and drops the oldest", () => {
    const r = new LogRing(3);
    r.push([raw(0), raw(1)]);
    expect(r.length).toBe(2);
    r.push([raw(2), raw(3), raw(4)]);
    expect([r.first, r.next, r.length]).toEqual([2, 5, 3]);
    expect(r.at(1)).toBeUndefined();
    expect(r.at(2)?.text).toBe("line 2");
    expect(r.at(4)?.text).toBe("line 4");
    expect(r.at(5)).toBeUndefined();
    r.clear();
    expect(r.length).toBe(0);
    expect(r.at(4)).toBeUndefined();
  });

  it("holds 100,000 lines and searches them quickly, ignoring case and colours", () => {
    const r = new LogRing();
    const lines = Array.from({ length: 120_000 }, (_, i) =>
      raw(i, i % 1000 === 0 ? `\x1b[31mERROR\x1b[0m number ${i}` : `ok ${i}`),
    );
    r.push(lines);
    expect(r.length).toBe(100_000);
    const t0 = performance.now();
    const hits = search(r, "error number");
    const ms = performance.now() - t0;
    expect(hits).toHaveLength(100);
    expect(hits[0]).toBe(20_000);
    expect(ms).toBeLessThan(500);
    expect(search(r, "error", 119_500)).toEqual([]);
    expect(search(r, "error", 119_000)).toEqual([119_000]);
  });
});

describe("ResumeFilter", () => {
  it("drops the lines of the last time sent again after a reconnect, and only those", () => {
    const f = new ResumeFilter();
    expect(f.since).toBeUndefined();
    const t1 = "2030-01-01T00:00:01.000Z";
    const t2 = "2030-01-01T00:00:02.000Z";
    expect(f.filter([`${t1} web.1 a`, `${t2} web.1 b`, `${t2} web.1 b`])).toHaveLength(3);
    expect(f.since).toBe(t2);
    f.resume();
    // since=t2 sends both b lines again, then a third b and a new one
    expect(f.filter([`${t2} web.1 b`, `${t2} web.1 b`, `${t2} web.1 b`, `${t2} web.1 c`])).toEqual([
      `${t2} web.1 b`,
      `${t2} web.1 c`,
    ]);
    expect(f.filter([`${t2} web.1 b`])).toEqual([`${t2} web.1 b`]);
  });

  it("stops skipping once a later time arrives", () => {
    const f = new ResumeFilter();
    const t1 = "2030-01-01T00:00:01.000Z";
    const t2 = "2030-01-01T00:00:02.000Z";
    f.filter([`${t1} web.1 a`]);
    f.resume();
    expect(f.filter([`${t2} web.1 x`, `${t2} web.1 a`])).toEqual([
      `${t2} web.1 x`,
      `${t2} web.1 a`,
    ]);
  });
});
