import { describe, expect, it } from "vitest";
import { stageStatuses } from "../apps/pipeline-status.js";
import { AppNameSchema } from "./app.js";
import { parseStaleAfter, reviewAppName, stagesProblem, type Pipeline } from "./pipeline.js";

describe("reviewAppName", () => {
  it("is <pipeline>-<branch as a DNS label> when that fits", () => {
    expect(reviewAppName("hello", "feature/Login_Page")).toBe("hello-feature-login-page");
    expect(reviewAppName("hello", "fix")).toBe("hello-fix");
  });

  it("shortens long names with a hash of the branch: deterministic, distinct, a valid app name", () => {
    const a = reviewAppName("hello", "feature/a-very-long-branch-name-for-testing");
    const b = reviewAppName("hello", "feature/a-very-long-branch-name-for-testing-2");
    expect(a).toBe(reviewAppName("hello", "feature/a-very-long-branch-name-for-testing"));
    expect(a).not.toBe(b);
    for (const n of [
      a,
      b,
      reviewAppName("a-thirty-character-pipeline-nm", "x"),
      reviewAppName("p", "///"),
    ]) {
      expect(n.length).toBeLessThanOrEqual(30);
      expect(AppNameSchema.safeParse(n).success, n).toBe(true);
    }
    expect(a).toMatch(/^hello-feature-a-very-lo-[0-9a-f]{6}$/);
  });
});

describe("pipeline checks", () => {
  it("parses staleAfter with days", () => {
    expect(parseStaleAfter("5d")).toBe(5 * 86_400_000);
    expect(parseStaleAfter("90m")).toBe(5_400_000);
    expect(parseStaleAfter("5 days")).toBeUndefined();
  });

  it("names a repeated stage or app", () => {
    expect(
      stagesProblem([
        { name: "a", app: "x" },
        { name: "a", app: "y" },
      ])?.message,
    ).toBe("stage a appears twice");
    expect(
      stagesProblem([
        { name: "a", app: "x" },
        { name: "b", app: "y" },
      ]),
    ).toBeUndefined();
  });

  it("marks a stage behind when it does not run the previous stage's code", () => {
    const p = {
      stages: [
        { name: "staging", app: "s" },
        { name: "production", app: "p" },
        { name: "dr", app: "d" },
      ],
    } as Pipeline;
    const rel = (version: number, artifact?: string) =>
      ({ version, ...(artifact === undefined ? {} : { artifact }) }) as never;
    const s = stageStatuses(p, [
      { exists: true, release: rel(3, "a".repeat(64)) },
      { exists: true, release: rel(2, "a".repeat(64)) },
      { exists: true, release: rel(9, "b".repeat(64)) },
    ]);
    expect(s.map((x) => x.behind)).toEqual([undefined, false, true]);
    const none = stageStatuses(p, [
      { exists: true, release: undefined },
      { exists: false, release: undefined },
      { exists: true, release: undefined },
    ]);
    expect(none.map((x) => [x.behind, x.missing])).toEqual([
      [undefined, undefined],
      [false, true],
      [false, undefined],
    ]);
  });
});
