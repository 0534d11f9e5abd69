/**
 * The app kind's runtime, container and buildArgs (issue 12): validated with file:line like the
 * other fields, compared with the defaults filled in.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diffApp } from "./apps-diff.js";
import type { LiveApp } from "./apps-read.js";
import { AppSpecSchema, wantedRuntime } from "./apps-schema.js";
import { specProblems } from "./spec-problems.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-kinds-runtime-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problems = (text: string): string[] => specProblems(dir, text);

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

describe("apps.<name>.runtime, container, buildArgs", () => {
  it("loads a good spec and fills in the defaults", () => {
    expect(
      problems(`apps:
  web:
    runtime: docker
    container: { memory: 256M, pids: 128, readOnly: true }
    buildArgs: [NPM_TOKEN]
`),
    ).toEqual([]);
    expect(wantedRuntime(AppSpecSchema.parse({ container: { memory: "1G" } }))).toEqual({
      runtime: "process",
      container: { memoryMb: 1024 },
      buildArgs: [],
    });
  });

  it("reports bad values with the line and path", () => {
    const found = problems(`apps:
  web:
    runtime: vm
    container:
      memory: lots
      pids: 2
      swap: 1G
    buildArgs: [A, A, not-a-name]
`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^gantry\.yaml:3: apps\.web\.runtime: /),
        expect.stringMatching(
          /^gantry\.yaml:5: apps\.web\.container\.memory: "lots" is not a size/,
        ),
        expect.stringMatching(/^gantry\.yaml:6: apps\.web\.container\.pids: /),
        expect.stringMatching(/^gantry\.yaml:7: apps\.web\.container.*swap/),
        expect.stringMatching(/^gantry\.yaml:8: apps\.web\.buildArgs/),
      ]),
    );
  });

  it("diffs against the live app with defaults filled in", () => {
    const spec = AppSpecSchema.parse({
      runtime: "docker",
      container: { memory: "256M", readOnly: true },
      buildArgs: ["NPM_TOKEN"],
    });
    expect(diffApp("web", spec, live(), undefined)).toEqual([
      { path: "runtime", old: "process", new: "docker" },
      { path: "container.memory", old: "(default)", new: "256M" },
      { path: "container.readOnly", old: "(default)", new: true },
      { path: "buildArgs", old: "(none)", new: "NPM_TOKEN" },
    ]);
    const same = live({
      runtime: "docker",
      container: { memoryMb: 256, readOnly: true },
      buildArgs: ["NPM_TOKEN"],
    });
    expect(diffApp("web", spec, same, undefined)).toEqual([]);
    // Left out of the spec: back to the defaults.
    expect(diffApp("web", AppSpecSchema.parse({}), same, undefined)).toEqual([
      { path: "runtime", old: "docker", new: "process" },
      { path: "container.memory", old: "256M", new: "(default)" },
      { path: "container.readOnly", old: true, new: "(default)" },
      { path: "buildArgs", old: "NPM_TOKEN", new: "(none)" },
    ]);
  });

  it("a create lists only what the spec gives", () => {
    expect(
      diffApp("web", AppSpecSchema.parse({ runtime: "docker" }), undefined, undefined),
    ).toEqual([{ path: "runtime", new: "docker" }]);
  });
});
