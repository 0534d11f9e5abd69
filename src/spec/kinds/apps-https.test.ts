/**
 * The app kind's httpsRedirect and hsts (issue 13): validated with file:line like the other
 * fields, off unless the spec turns them on.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diffApp } from "./apps-diff.js";
import type { LiveApp } from "./apps-read.js";
import { AppSpecSchema, wantedHttps } from "./apps-schema.js";
import { specProblems } from "./spec-problems.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-kinds-https-"));
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

describe("apps.<name>.httpsRedirect, hsts", () => {
  it("loads true, false and seconds; hsts: true is one year", () => {
    expect(specProblems(dir, "apps:\n  web:\n    httpsRedirect: true\n    hsts: true\n")).toEqual(
      [],
    );
    expect(wantedHttps(AppSpecSchema.parse({ httpsRedirect: true, hsts: true }))).toEqual({
      httpsRedirect: true,
      hsts: 31_536_000,
    });
    expect(wantedHttps(AppSpecSchema.parse({ hsts: 600 }))).toEqual({
      httpsRedirect: false,
      hsts: 600,
    });
    expect(wantedHttps(AppSpecSchema.parse({ hsts: false }))).toEqual({
      httpsRedirect: false,
      hsts: 0,
    });
  });

  it("reports bad values with the line and path", () => {
    const found = specProblems(
      dir,
      "apps:\n  web:\n    httpsRedirect: yes please\n    hsts: 1.5\n  api:\n    hsts: oneyear\n",
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^gantry\.yaml:3: apps\.web\.httpsRedirect: /),
        expect.stringMatching(
          /^gantry\.yaml:4: apps\.web\.hsts: must be true, false or a max-age in whole seconds/,
        ),
        expect.stringMatching(/^gantry\.yaml:6: apps\.api\.hsts: /),
      ]),
    );
  });

  it("diffs against the live app: a create lists only what the spec gives; left out is off", () => {
    const spec = AppSpecSchema.parse({ httpsRedirect: true, hsts: true });
    expect(diffApp("web", spec, undefined, undefined)).toEqual([
      { path: "httpsRedirect", new: true },
      { path: "hsts", new: 31_536_000 },
    ]);
    expect(diffApp("web", spec, live(), undefined)).toEqual([
      { path: "httpsRedirect", old: false, new: true },
      { path: "hsts", old: 0, new: 31_536_000 },
    ]);
    const on = live({ httpsRedirect: true, hsts: 31_536_000 });
    expect(diffApp("web", spec, on, undefined)).toEqual([]);
    expect(diffApp("web", AppSpecSchema.parse({}), on, undefined)).toEqual([
      { path: "httpsRedirect", old: true, new: false },
      { path: "hsts", old: 31_536_000, new: 0 },
    ]);
  });
});
