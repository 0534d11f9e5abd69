import { existsSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPackageIndexType, STAMP } from "./package-index.js";
import { createPackageType } from "./package.js";
import { converge, recordingRunner } from "./system/test-run.js";
import { buildDeb, privateApt, type PrivateApt } from "./system/test-apt.js";
import { testContext } from "./test-context.js";

let dir: string;
let apt: PrivateApt;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gantry-apt-index-"));
  apt = privateApt(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stamp = (): string => join(apt.stateDir, STAMP);

describe("packageIndex (real apt-get update)", { timeout: 120_000 }, () => {
  it("refreshes a stale index once, so apt finds what the repository gained, then stays quiet", async () => {
    const runner = recordingRunner();
    const index = createPackageIndexType(apt.runner(runner));
    const pkg = createPackageType(apt.runner(runner));
    const name = `gantry-test-index-${process.pid}`;
    apt.add([buildDeb(dir, name, "2.0")]);

    // Check mode says what it would do and does nothing.
    const check = testContext({ check: true });
    expect(await converge(index, "apt", {}, check)).toEqual([
      "update (no successful update recorded)",
    ]);
    expect(existsSync(stamp())).toBe(false);
    await expect(converge(pkg, name, { state: "latest" }, check)).rejects.toThrow(
      `apt has no installation candidate for ${name} (apt-get update?)`,
    );

    const ctx = testContext();
    expect(await converge(index, "apt", {}, ctx)).toEqual([
      "update (no successful update recorded)",
    ]);
    expect(runner.calls.filter((c) => c[1] === "update")).toHaveLength(1);
    expect(existsSync(stamp())).toBe(true);
    expect(await converge(pkg, name, { state: "latest" }, check)).toEqual(["install 2.0"]);

    // Fresh within maxAge (default 1h): nothing to do, no apt-get run.
    expect(await converge(index, "apt", {})).toEqual([]);
    expect(runner.calls.filter((c) => c[1] === "update")).toHaveLength(1);

    // Three hours later, a 1h limit refreshes again; a 1d limit does not.
    const threeHoursAgo = new Date(Date.now() - 3 * 3_600_000);
    utimesSync(stamp(), threeHoursAgo, threeHoursAgo);
    expect(await converge(index, "apt", { maxAge: "24h" })).toEqual([]);
    expect(await converge(index, "apt", { maxAge: "1h" })).toEqual(["update (3h old)"]);
    expect(await converge(index, "apt", { maxAge: "1h" })).toEqual([]);

    // maxAge 0s: every run.
    expect(await converge(index, "apt", { maxAge: "0s" })).toEqual(["update (<1s old)"]);
    expect(runner.calls.filter((c) => c[1] === "update")).toHaveLength(3);
  });

  it("fails with apt's own words when the update fails, and records no success", async () => {
    const broken = privateApt(join(dir, "broken"));
    rmSync(join(dir, "broken", "repo"), { recursive: true });
    const index = createPackageIndexType(broken.runner(recordingRunner()));
    await expect(converge(index, "apt", { maxAge: "0s" })).rejects.toThrow(
      /apt-get update -q .* failed \(exit 100\)/,
    );
    expect(existsSync(join(broken.stateDir, STAMP))).toBe(false);
  });

  it("validates its name and maxAge before anything runs", () => {
    const index = createPackageIndexType();
    expect(index.validate?.("yum", index.fields.parse({}))).toEqual({
      field: "packageIndex",
      message: 'only "apt" is supported, got "yum"',
    });
    const bad = index.fields.safeParse({ maxAge: "soon" });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe('expected a duration like "1h" or "30m"');
    expect(index.fields.parse({})).toEqual({ maxAge: "1h" });
  });
});
