/**
 * The app kind's test and testTimeout (issue 15): validated with file:line like the other
 * fields; none and the default (10m) unless the spec gives them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diffApp } from "./apps-diff.js";
import type { LiveApp } from "./apps-read.js";
import { AppSpecSchema, wantedReleaseTimeout, wantedTests } from "./apps-schema.js";
import { specProblems } from "./spec-problems.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-kinds-tests-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const live = (over: Partial<LiveApp> = {}): LiveApp => ({
  healthPath: "/",
  deployTimeoutMs: 30_000,
  drainMs: 5000,
  domains: [],
  formation: { web: 1 },
  processTypes: ["web"],
  config: {},
  code: { release: 1, build: "b1", commit: "upload" },
  ...over,
});

describe("apps.<name>.test, testTimeout", () => {
  it("loads a command and a duration", () => {
    expect(specProblems(dir, 'apps:\n  web:\n    test: "npm test"\n    testTimeout: 5m\n')).toEqual(
      [],
    );
    expect(wantedTests(AppSpecSchema.parse({ test: "npm test", testTimeout: "5m" }))).toEqual({
      test: "npm test",
      testTimeoutMs: 300_000,
    });
    expect(wantedTests(AppSpecSchema.parse({}))).toEqual({ test: "", testTimeoutMs: null });
  });

  it("reports bad values with the line and path", () => {
    const found = specProblems(dir, 'apps:\n  web:\n    test: ""\n    testTimeout: soon\n');
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^gantry\.yaml:3: apps\.web\.test: /),
        expect.stringMatching(/^gantry\.yaml:4: apps\.web\.testTimeout: /),
      ]),
    );
    expect(specProblems(dir, "apps:\n  web:\n    testTimeout: 10ms\n")).toEqual([
      expect.stringMatching(/^gantry\.yaml:3: apps\.web\.testTimeout: /),
    ]);
  });

  it("diffs against the live app; left out is none and the default", () => {
    const spec = AppSpecSchema.parse({ test: "npm test", testTimeout: "5m" });
    expect(diffApp("web", spec, undefined, undefined)).toEqual([
      { path: "test", new: "npm test" },
      { path: "testTimeout", new: "5m" },
    ]);
    expect(diffApp("web", spec, live(), undefined)).toEqual([
      { path: "test", old: "(none)", new: "npm test" },
      { path: "testTimeout", old: "(default 10m)", new: "5m" },
    ]);
    const set = live({ test: "npm test", testTimeoutMs: 300_000 });
    expect(diffApp("web", spec, set, undefined)).toEqual([]);
    expect(diffApp("web", AppSpecSchema.parse({}), set, undefined)).toEqual([
      { path: "test", old: "npm test", new: "(none)" },
      { path: "testTimeout", old: "5m", new: "(default 10m)" },
    ]);
  });
});

describe("apps.<name>.releaseTimeout", () => {
  it("loads a duration; left out, nothing is asked for", () => {
    expect(specProblems(dir, "apps:\n  web:\n    releaseTimeout: 30m\n")).toEqual([]);
    expect(wantedReleaseTimeout(AppSpecSchema.parse({ releaseTimeout: "30m" }))).toBe(1_800_000);
    expect(wantedReleaseTimeout(AppSpecSchema.parse({}))).toBeUndefined();
  });

  it("reports a bad duration with the line and path", () => {
    expect(specProblems(dir, "apps:\n  web:\n    drain: 5s\n    releaseTimeout: soon\n")).toEqual([
      expect.stringMatching(
        /^gantry\.yaml:4: apps\.web\.releaseTimeout: .*"soon" is not a duration/,
      ),
    ]);
    expect(specProblems(dir, "apps:\n  web:\n    releaseTimeout: 7h\n")).toEqual([
      expect.stringMatching(/^gantry\.yaml:3: apps\.web\.releaseTimeout: /),
    ]);
  });

  it("diffs against the live app; left out, the app's value is left alone", () => {
    const spec = AppSpecSchema.parse({ releaseTimeout: "30m" });
    expect(diffApp("web", spec, undefined, undefined)).toEqual([
      { path: "releaseTimeout", new: "30m" },
    ]);
    expect(diffApp("web", spec, live(), undefined)).toEqual([
      { path: "releaseTimeout", old: "(default 10m)", new: "30m" },
    ]);
    expect(diffApp("web", spec, live({ releaseTimeoutMs: 120_000 }), undefined)).toEqual([
      { path: "releaseTimeout", old: "2m", new: "30m" },
    ]);
    expect(diffApp("web", spec, live({ releaseTimeoutMs: 1_800_000 }), undefined)).toEqual([]);
    expect(
      diffApp("web", AppSpecSchema.parse({}), live({ releaseTimeoutMs: 120_000 }), undefined),
    ).toEqual([]);
  });
});
