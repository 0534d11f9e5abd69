import { describe, expect, it } from "vitest";
import { AppNameSchema, ConfigNameSchema, DomainSchema, FormationSchema } from "../model/app.js";
import { assignmentId, effectiveFormation, sortTypes } from "./formation.js";
import { shellJoin } from "./run.js";

describe("schemas", () => {
  it("takes app names that are DNS labels, and nothing else", () => {
    for (const ok of ["a", "hello", "hello-world", "a1", "x".repeat(30)])
      expect(AppNameSchema.safeParse(ok).success, ok).toBe(true);
    for (const bad of ["", "Hello", "1app", "-a", "a-", "a_b", "a.b", "x".repeat(31), "héllo"])
      expect(AppNameSchema.safeParse(bad).success, bad).toBe(false);
  });

  it("takes environment variable names, domains and formations", () => {
    expect(ConfigNameSchema.safeParse("DATABASE_URL").success).toBe(true);
    expect(ConfigNameSchema.safeParse("1X").success).toBe(false);
    expect(ConfigNameSchema.safeParse("A-B").success).toBe(false);
    expect(DomainSchema.safeParse("www.example.com").success).toBe(true);
    expect(DomainSchema.safeParse("localhost").success).toBe(false);
    expect(DomainSchema.safeParse("WWW.example.com").success).toBe(false);
    expect(FormationSchema.safeParse({ web: 3, worker: 0 }).success).toBe(true);
    expect(FormationSchema.safeParse({ web: -1 }).success).toBe(false);
    expect(FormationSchema.safeParse({ web: 101 }).success).toBe(false);
    expect(FormationSchema.safeParse({ Web: 1 }).success).toBe(false);
  });
});

describe("formation", () => {
  it("runs web=1 by default, other types only when asked, and ignores types the release lacks", () => {
    expect(effectiveFormation({}, { web: "a", worker: "b" })).toEqual({ web: 1, worker: 0 });
    expect(effectiveFormation({ web: 0, worker: 2, gone: 5 }, { worker: "b", web: "a" })).toEqual({
      web: 0,
      worker: 2,
    });
    expect(sortTypes(["worker", "clock", "web"])).toEqual(["web", "clock", "worker"]);
  });

  it("makes assignment ids that are valid ids even for types with underscores", () => {
    expect(assignmentId("hello", 12, "big_worker", 3, "ab12")).toBe("hello-v12-big-worker-3-ab12");
  });
});

describe("one-off commands", () => {
  it("quotes one-off commands for sh -c", () => {
    expect(shellJoin(["node", "-e", "console.log(process.env.X)"])).toBe(
      "node -e 'console.log(process.env.X)'",
    );
    expect(shellJoin(["echo", "it's"])).toBe(`echo 'it'\\''s'`);
  });
});
