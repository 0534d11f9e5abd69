import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WriteError, writeIfChanged } from "./write.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "gantry-write-"));

describe("writeIfChanged", () => {
  it("creates the file (and its directory) with mode 0644, regardless of the umask", async () => {
    const dest = join(tmp(), "sub", "out.conf");
    const old = process.umask(0o077);
    try {
      expect(await writeIfChanged(dest, "a\n")).toBe(true);
    } finally {
      process.umask(old);
    }
    expect(readFileSync(dest, "utf8")).toBe("a\n");
    expect(statSync(dest).mode & 0o777).toBe(0o644);
  });

  it("leaves an identical file alone: same inode, same mtime", async () => {
    const dest = join(tmp(), "out.conf");
    writeFileSync(dest, "same");
    const before = statSync(dest);
    expect(await writeIfChanged(dest, "same")).toBe(false);
    const after = statSync(dest);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it("replaces a changed file by rename, keeping its mode and leaving no temp file", async () => {
    const dir = tmp();
    const dest = join(dir, "out.conf");
    writeFileSync(dest, "old");
    chmodSync(dest, 0o600);
    const before = statSync(dest);
    expect(await writeIfChanged(dest, "new")).toBe(true);
    const after = statSync(dest);
    expect(readFileSync(dest, "utf8")).toBe("new");
    expect(after.mode & 0o777).toBe(0o600);
    expect(after.ino).not.toBe(before.ino); // a new file renamed over the old one
    expect(readdirSync(dir)).toEqual(["out.conf"]);
  });

  it("fails with a WriteError naming the file", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "file"), "");
    await expect(writeIfChanged(join(dir, "file", "out.conf"), "x")).rejects.toThrow(WriteError);
    await expect(writeIfChanged(join(dir, "file", "out.conf"), "x")).rejects.toThrow(
      /cannot write .*file\/out\.conf/,
    );
  });
});
