import { execFileSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { symlinkType } from "./symlink.js";
import { converge, snapshotTree, testContext } from "./test-context.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "gantry-link-"));
const check = testContext({ check: true });

async function inspectOnly(root: string, path: string, props: unknown): Promise<string[]> {
  const before = snapshotTree(root);
  const { changes } = await converge(symlinkType, path, props, check);
  expect(snapshotTree(root)).toEqual(before);
  return changes;
}

describe("symlink", () => {
  it("creates a link; a second run changes nothing", async () => {
    const root = tmp();
    const path = join(root, "current");
    const props = { target: "releases/3" };
    expect((await converge(symlinkType, path, props)).changes).toEqual(["create → releases/3"]);
    expect(readlinkSync(path)).toBe("releases/3");
    expect((await converge(symlinkType, path, props)).changes).toEqual([]);
  });

  it("re-points a link with the wrong target, in one rename", async () => {
    const root = tmp();
    const path = join(root, "current");
    symlinkSync("/etc/old", path);
    const props = { target: "/etc/new" };
    expect(await inspectOnly(root, path, props)).toEqual(["target /etc/old → /etc/new"]);
    expect((await converge(symlinkType, path, props)).changes).toEqual([
      "target /etc/old → /etc/new",
    ]);
    expect(readlinkSync(path)).toBe("/etc/new");
    expect((await converge(symlinkType, path, props)).changes).toEqual([]);
  });

  it("recreates a removed link", async () => {
    const root = tmp();
    const path = join(root, "l");
    await converge(symlinkType, path, { target: "/x" });
    rmSync(path);
    expect(await inspectOnly(root, path, { target: "/x" })).toEqual(["create → /x"]);
    await converge(symlinkType, path, { target: "/x" });
    expect(readlinkSync(path)).toBe("/x");
  });

  it("refuses to replace a file unless forced", async () => {
    const root = tmp();
    const path = join(root, "f");
    writeFileSync(path, "data");
    await expect(converge(symlinkType, path, { target: "/x" })).rejects.toMatchObject({
      code: "resource_failed",
      message: `cannot create symlink ${path}: a file is in the way (set force: true to replace it)`,
    });
    expect(readFileSync(path, "utf8")).toBe("data");
    expect(await inspectOnly(root, path, { target: "/x", force: true })).toEqual([
      "replace file with symlink → /x",
    ]);
    await converge(symlinkType, path, { target: "/x", force: true });
    expect(readlinkSync(path)).toBe("/x");
    expect((await converge(symlinkType, path, { target: "/x", force: true })).changes).toEqual([]);
  });

  it("with force, replaces an empty directory but never a full one", async () => {
    const root = tmp();
    mkdirSync(join(root, "empty"));
    await converge(symlinkType, join(root, "empty"), { target: "/x", force: true });
    expect(lstatSync(join(root, "empty")).isSymbolicLink()).toBe(true);
    mkdirSync(join(root, "full"));
    writeFileSync(join(root, "full", "keep"), "");
    await expect(
      converge(symlinkType, join(root, "full"), { target: "/x", force: true }),
    ).rejects.toThrow(/a directory with 1 entries is in the way/);
    expect(readFileSync(join(root, "full", "keep"), "utf8")).toBe("");
  });

  it("fails on a missing parent with the path, and on a locked directory with the reason", async () => {
    const root = tmp();
    await expect(converge(symlinkType, join(root, "a", "l"), { target: "/x" })).rejects.toThrow(
      `cannot create ${join(root, "a", "l")}: directory ${join(root, "a")} does not exist (create it first)`,
    );
    execFileSync("chattr", ["+i", root]);
    try {
      await expect(converge(symlinkType, join(root, "l"), { target: "/x" })).rejects.toMatchObject({
        message: `cannot create symlink ${join(root, "l")}: operation not permitted (EPERM)`,
      });
    } finally {
      execFileSync("chattr", ["-i", root]);
    }
  });

  it("validates: a target is required, the name is absolute", () => {
    expect(symlinkType.fields.safeParse({}).success).toBe(false);
    expect(symlinkType.validate?.("rel/link", { target: "/x" })?.message).toMatch(/absolute/);
  });
});
