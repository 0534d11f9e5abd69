/** The `cron:` kind through the real loader: problems at `gantry.yaml:LINE: PATH: message`. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cronKind } from "./cron.js";
import { specProblems } from "./spec-problems.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-cron-load-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the cron: kind", () => {
  it("accepts 5- and 6-field jobs, with a zone, overlap and a time limit", () => {
    expect(
      specProblems(
        dir,
        `cron:
  nightly: {app: hello, schedule: "0 3 * * *", command: "node task.js", overlap: false, timeout: 10m, tz: Europe/Paris}
  beat: {app: hello, schedule: "*/10 * * * * *", command: [node, beat.js]}
`,
      ),
    ).toEqual([]);
  });

  it("reports a bad expression with croner's reason, a bad zone and a bad timeout at their lines", () => {
    const found = specProblems(
      dir,
      `cron:
  nightly:
    app: hello
    schedule: "0 25 * * *"
    command: node task.js
  zoned: {app: hello, schedule: "0 3 * * *", command: x, tz: Mars/Base}
  slow: {app: hello, schedule: "0 3 * * *", command: x, timeout: 10x}
  Bad_Name: {app: hello, schedule: "0 3 * * *", command: x}
`,
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^gantry\.yaml:\d+: cron\.nightly\.schedule: .*"0 25 \* \* \*": .*hour: 25/,
        ),
        expect.stringMatching(
          /^gantry\.yaml:6: cron\.zoned\.tz: tz "Mars\/Base" is not an IANA time zone/,
        ),
        expect.stringMatching(/^gantry\.yaml:7: cron\.slow\.timeout: .*duration/),
        expect.stringMatching(/^gantry\.yaml:8: cron\.Bad_Name: the job's name must be lower-case/),
      ]),
    );
  });

  it("plans the fields that differ; a new app replaces the job", () => {
    const item = {
      kind: "cron",
      name: "nightly",
      at: "gantry.yaml:2",
      spec: {
        app: "hello",
        schedule: "0 3 * * *",
        command: "node task.js",
        tz: "UTC",
        overlap: false,
      },
    };
    const live = {
      name: "nightly",
      revisions: {},
      value: {
        id: "nightly",
        app: "other",
        schedule: "0 4 * * *",
        tz: "UTC",
        command: ["sh", "-c", "node task.js"],
        overlap: false,
        timeoutMs: 3_600_000,
        createdAt: "",
        createdBy: "admin",
        source: "stack" as const,
        modRevision: 3,
      },
    };
    const changes = cronKind.diff(item, live, {} as never) as {
      path: string;
      forcesReplace?: boolean;
    }[];
    expect(changes.map((c) => c.path)).toEqual(["app", "schedule"]);
    expect(changes[0]?.forcesReplace).toBe(true);
    expect(
      cronKind.diff(
        item,
        { ...live, value: { ...live.value, app: "hello", schedule: "0 3 * * *" } },
        {} as never,
      ),
    ).toEqual([]);
  });
});
