import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { directoryType } from "./directory.js";
import { resolveGroup, resolveUser } from "./fs/ids.js";
import { converge, snapshotTree, testContext } from "./test-context.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "gantry-dir-"));
const check = testContext({ check: true });

async function inspectOnly(root: string, path: string, props: unknown): Promise<string[]> {
  const before = snapshotTree(root);
  const { changes } = await converge(directoryType, path, props, check);
  expect(snapshotTree(root)).toEqual(before);
  return changes;
}

describe("directory", () => {
  it("creates a directory with its parents, mode, owner and group; a second run changes nothing", async () => {
    const root = tmp();
    const path = join(root, "srv", "app");
    const props = { mode: "2770", owner: "daemon", group: "daemon" };
    const old = process.umask(0o077);
    try {
      expect((await converge(directoryType, path, props)).changes).toEqual(["create"]);
    } finally {
      process.umask(old);
    }
    const st = statSync(path);
    expect(st.isDirectory()).toBe(true);
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([
      0o2770,
      resolveUser("daemon"),
      resolveGroup("daemon"),
    ]);
    expect((await converge(directoryType, path, props)).changes).toEqual([]);
  });

  it("gives a new directory 0755 by default", async () => {
    const path = join(tmp(), "d");
    await converge(directoryType, path, {});
    expect(statSync(path).mode & 0o7777).toBe(0o755);
    expect((await converge(directoryType, path, {})).changes).toEqual([]);
  });

  it("reports drifted mode and owner, and fixes exactly those", async () => {
    const root = tmp();
    const path = join(root, "d");
    const props = { mode: "0750", owner: "nobody", group: "0" };
    await converge(directoryType, path, props);
    chmodSync(path, 0o777);
    chownSync(path, 0, resolveGroup("daemon") as number);
    const changes = await inspectOnly(root, path, props);
    expect(changes).toEqual(["mode 0777 → 0750", "owner root → nobody", "group daemon → root"]);
    expect((await converge(directoryType, path, props)).changes).toEqual(changes);
    const st = statSync(path);
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o750, resolveUser("nobody"), 0]);
    expect((await converge(directoryType, path, props)).changes).toEqual([]);
  });

  it("recreates a removed directory", async () => {
    const root = tmp();
    const path = join(root, "d");
    await converge(directoryType, path, {});
    rmdirSync(path);
    expect(await inspectOnly(root, path, {})).toEqual(["create"]);
    expect((await converge(directoryType, path, {})).changes).toEqual(["create"]);
    expect(statSync(path).isDirectory()).toBe(true);
  });

  it("with makeDirs: false, fails on a missing parent (reporting create in check mode)", async () => {
    const root = tmp();
    const path = join(root, "a", "b");
    await expect(converge(directoryType, path, { makeDirs: false })).rejects.toThrow(
      `cannot create ${path}: directory ${join(root, "a")} does not exist (create it first, or set makeDirs: true)`,
    );
    expect(await inspectOnly(root, path, { makeDirs: false })).toEqual(["create"]);
    mkdirSync(join(root, "a"));
    expect((await converge(directoryType, path, { makeDirs: false })).changes).toEqual(["create"]);
  });

  it("fails when a file is in the way", async () => {
    const root = tmp();
    writeFileSync(join(root, "f"), "");
    await expect(converge(directoryType, join(root, "f"), {})).rejects.toMatchObject({
      code: "resource_failed",
      message: `cannot manage ${join(root, "f")}: it is a file, not a directory (remove it first with absent)`,
    });
  });

  it("manages a directory through a symlink to it; a dangling link fails", async () => {
    const root = tmp();
    mkdirSync(join(root, "real"), { mode: 0o700 });
    symlinkSync(join(root, "real"), join(root, "link"));
    expect((await converge(directoryType, join(root, "link"), { mode: "0711" })).changes).toEqual([
      "mode 0700 → 0711",
    ]);
    expect(statSync(join(root, "real")).mode & 0o777).toBe(0o711);
    symlinkSync(join(root, "nowhere"), join(root, "dangling"));
    await expect(converge(directoryType, join(root, "dangling"), {})).rejects.toThrow(
      /symlink to no directory/,
    );
  });

  it("reports a failed mkdir with the path and the reason", async () => {
    const root = tmp();
    execFileSync("chattr", ["+i", root]);
    try {
      await expect(converge(directoryType, join(root, "d"), {})).rejects.toMatchObject({
        code: "resource_failed",
        message: `cannot create ${join(root, "d")}: operation not permitted (EPERM)`,
      });
    } finally {
      execFileSync("chattr", ["-i", root]);
    }
  });
});
