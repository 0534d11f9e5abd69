import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { absentType } from "./absent.js";
import { converge, snapshotTree, testContext } from "./test-context.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "gantry-absent-"));
const check = testContext({ check: true });

async function inspectOnly(root: string, path: string): Promise<string[]> {
  const before = snapshotTree(root);
  const { changes } = await converge(absentType, path, {}, check);
  expect(snapshotTree(root)).toEqual(before);
  return changes;
}

describe("absent", () => {
  it("removes a file; a second run changes nothing", async () => {
    const root = tmp();
    const path = join(root, "f");
    writeFileSync(path, "x");
    expect(await inspectOnly(root, path)).toEqual(["remove file"]);
    expect((await converge(absentType, path, {})).changes).toEqual(["remove file"]);
    expect(existsSync(path)).toBe(false);
    expect((await converge(absentType, path, {})).changes).toEqual([]);
  });

  it("removes a directory recursively", async () => {
    const root = tmp();
    const path = join(root, "d");
    mkdirSync(join(path, "a", "b"), { recursive: true });
    writeFileSync(join(path, "a", "b", "f"), "x");
    expect(await inspectOnly(root, path)).toEqual(["remove directory"]);
    await converge(absentType, path, {});
    expect(existsSync(path)).toBe(false);
    expect((await converge(absentType, path, {})).changes).toEqual([]);
  });

  it("removes a symlink, not what it points at (even a directory)", async () => {
    const root = tmp();
    mkdirSync(join(root, "target"));
    writeFileSync(join(root, "target", "keep"), "k");
    symlinkSync(join(root, "target"), join(root, "link"));
    expect(await inspectOnly(root, join(root, "link"))).toEqual(["remove symlink"]);
    await converge(absentType, join(root, "link"), {});
    expect(existsSync(join(root, "link"))).toBe(false);
    expect(readFileSync(join(root, "target", "keep"), "utf8")).toBe("k");
  });

  it("removes a fifo", async () => {
    const root = tmp();
    execFileSync("mkfifo", [join(root, "p")]);
    expect((await converge(absentType, join(root, "p"), {})).changes).toEqual(["remove fifo"]);
    expect(existsSync(join(root, "p"))).toBe(false);
  });

  it("refuses / and relative paths", () => {
    expect(absentType.validate?.("/", {})).toEqual({
      field: "absent",
      message: "refusing to remove /",
    });
    expect(absentType.validate?.("/tmp/..", {})).toEqual({
      field: "absent",
      message: "refusing to remove /",
    });
    expect(absentType.validate?.("tmp/x", {})?.message).toMatch(/absolute/);
    expect(absentType.fields.safeParse({ recursive: true }).success).toBe(false);
  });

  it("reports what could not be removed and why", async () => {
    const root = tmp();
    const path = join(root, "f");
    writeFileSync(path, "x");
    execFileSync("chattr", ["+i", path]);
    try {
      await expect(converge(absentType, path, {})).rejects.toMatchObject({
        code: "resource_failed",
        message: `cannot remove ${path}: operation not permitted (EPERM)`,
      });
    } finally {
      execFileSync("chattr", ["-i", path]);
    }
  });
});
