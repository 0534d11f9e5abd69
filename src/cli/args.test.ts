import { describe, expect, it } from "vitest";
import { parseAssignments } from "./app-config.js";
import { parseFormation } from "./ps.js";
import { parseVersion } from "./releases.js";

describe("command-line parsing", () => {
  it("reads K=V pairs (values may hold = or be empty) and TYPE=N pairs", () => {
    expect(parseAssignments(["A=1", "URL=postgres://x?a=b", "EMPTY="])).toEqual({
      A: "1",
      URL: "postgres://x?a=b",
      EMPTY: "",
    });
    expect(() => parseAssignments(["NOVALUE"])).toThrow(/NAME=VALUE/);
    expect(() => parseAssignments(["1A=x"])).toThrow(/NAME=VALUE/);
    expect(parseFormation(["web=3", "worker=0"])).toEqual({ web: 3, worker: 0 });
    expect(() => parseFormation(["web"])).toThrow(/TYPE=COUNT/);
    expect(() => parseFormation(["web=-1"])).toThrow(/TYPE=COUNT/);
    expect(parseVersion("v12")).toBe(12);
    expect(parseVersion("3")).toBe(3);
    expect(() => parseVersion("v0")).toThrow(/release like v3/);
  });
});
