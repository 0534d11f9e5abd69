import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { symlinkAtomic, writeAtomic } from "./atomic.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "gantry-atomic-"));

describe("writeAtomic", () => {
  it("writes content, owner and mode regardless of the umask, leaving no temp file", async () => {
    const dir = tmp();
    const path = join(dir, "a.conf");
    const old = process.umask(0o077);
    try {
      await writeAtomic(path, Buffer.from("hello\n"), { mode: 0o4755, uid: 1, gid: 2 });
    } finally {
      process.umask(old);
    }
    const st = statSync(path);
    expect(readFileSync(path, "utf8")).toBe("hello\n");
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o4755, 1, 2]);
    expect(readdirSync(dir)).toEqual(["a.conf"]);
  });

  it("replaces an existing file by rename: a new inode, the old one untouched", async () => {
    const dir = tmp();
    const path = join(dir, "a.conf");
    writeFileSync(path, "old\n");
    const before = statSync(path).ino;
    await writeAtomic(path, Buffer.from("new\n"), { mode: 0o640, uid: 0, gid: 0 });
    expect(statSync(path).ino).not.toBe(before);
    expect(readFileSync(path, "utf8")).toBe("new\n");
  });

  it("fails without leaving a temp file when the directory is missing", async () => {
    const dir = tmp();
    await expect(
      writeAtomic(join(dir, "missing", "a"), Buffer.from("x"), { mode: 0o644, uid: 0, gid: 0 }),
    ).rejects.toMatchObject({ code: "ENOENT" });
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("symlinkAtomic", () => {
  it("creates a link and re-points an existing one in place", async () => {
    const dir = tmp();
    const link = join(dir, "current");
    await symlinkAtomic("releases/1", link);
    expect(readlinkSync(link)).toBe("releases/1");
    await symlinkAtomic("releases/2", link);
    expect(readlinkSync(link)).toBe("releases/2");
    expect(readdirSync(dir)).toEqual(["current"]);
  });

  it("replaces a regular file with a link", async () => {
    const dir = tmp();
    const link = join(dir, "x");
    writeFileSync(link, "file");
    await symlinkAtomic("/etc/hostname", link);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe("/etc/hostname");
  });
});
