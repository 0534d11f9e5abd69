import { describe, expect, it } from "vitest";
import { BuildError } from "./errors.js";
import {
  checkFreeSpace,
  DEFAULT_MIN_FREE_BYTES,
  freeBytes,
  selectBuildArgs,
} from "./docker-inputs.js";
import { imageProcessTypes } from "./docker-build.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("selectBuildArgs", () => {
  it("passes only the declared names, with their values; the rest of the config stays out", () => {
    const config = { NPM_TOKEN: "t0k", DATABASE_URL: "postgres://secret", NODE_ENV: "production" };
    expect(selectBuildArgs(["NPM_TOKEN", "NODE_ENV"], config)).toEqual({
      args: { NPM_TOKEN: "t0k", NODE_ENV: "production" },
      missing: [],
    });
  });

  it("reports declared names without a value, and passes nothing when none are declared", () => {
    expect(selectBuildArgs(["A", "B"], { B: "" })).toEqual({ args: { B: "" }, missing: ["A"] });
    expect(selectBuildArgs(undefined, { SECRET: "x" })).toEqual({ args: {}, missing: [] });
  });

  it("does not take names from the object's prototype", () => {
    expect(selectBuildArgs(["toString"], {})).toEqual({ args: {}, missing: ["toString"] });
  });
});

describe("the free-space floor", () => {
  it("defaults to 2 GB", () => {
    expect(DEFAULT_MIN_FREE_BYTES).toBe(2 * 1024 ** 3);
  });

  it("lets a build start at or above the floor", () => {
    expect(() => checkFreeSpace("/data", 2 * 1024 ** 3, DEFAULT_MIN_FREE_BYTES)).not.toThrow();
  });

  it("refuses below it, saying how much is free, where, and the floor", () => {
    let err: unknown;
    try {
      checkFreeSpace("/data", 1024 ** 3, DEFAULT_MIN_FREE_BYTES);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BuildError);
    expect((err as Error).message).toMatch(/only 1(\.0)? GB free on the filesystem of \/data/);
    expect((err as Error).message).toMatch(/at least 2(\.0)? GB/);
  });

  it("reads the real free space of a directory", () => {
    expect(freeBytes(tmpdir())).toBeGreaterThan(0);
  });
});

describe("imageProcessTypes", () => {
  it("takes the Procfile when there is one, else web is the image's own CMD", () => {
    const dir = mkdtempSync(join(tmpdir(), "gantry-types-"));
    try {
      expect(imageProcessTypes(dir)).toEqual({ web: "" });
      writeFileSync(join(dir, "Procfile"), "web: node server.js\nworker: node w.js\n");
      expect(imageProcessTypes(dir)).toEqual({ web: "node server.js", worker: "node w.js" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
