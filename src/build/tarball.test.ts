import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rawTar, type RawEntry } from "../../test/helpers/tar.js";
import { listTree, packDirectory, unpackTar } from "./tarball.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gantry-tar-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function* chunks(buf: Buffer, size = 700): AsyncIterable<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function sha(stream: AsyncIterable<Buffer>): Promise<string> {
  const h = createHash("sha256");
  for await (const c of stream) h.update(c);
  return h.digest("hex");
}

function makeTree(root: string, mtime: Date): void {
  mkdirSync(join(root, "lib/deep"), { recursive: true });
  writeFileSync(join(root, "server.js"), "console.log('hi')\n");
  writeFileSync(join(root, "lib/b.js"), "b\n");
  writeFileSync(join(root, "lib/a.js"), "a\n");
  writeFileSync(join(root, "lib/deep/run.sh"), "#!/bin/sh\n");
  chmodSync(join(root, "lib/deep/run.sh"), 0o755);
  symlinkSync("lib/a.js", join(root, "a-link.js"));
  for (const p of ["server.js", "lib/b.js", "lib/a.js", "lib/deep/run.sh", "lib", "."]) {
    utimesSync(join(root, p), mtime, mtime);
  }
}

describe("packDirectory", () => {
  it("packs the same tree to the same bytes, whatever the files' mtimes and creation order", async () => {
    makeTree(join(dir, "one"), new Date("2020-01-01"));
    makeTree(join(dir, "two"), new Date("2024-06-01"));
    const a = await sha(packDirectory(join(dir, "one")));
    const b = await sha(packDirectory(join(dir, "two")));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
    writeFileSync(join(dir, "two", "lib/a.js"), "changed\n");
    expect(await sha(packDirectory(join(dir, "two")))).not.toBe(a);
  });

  it("lists entries sorted, directories before their contents", () => {
    makeTree(join(dir, "t"), new Date());
    expect(listTree(join(dir, "t"))).toEqual([
      "a-link.js",
      "lib",
      "lib/a.js",
      "lib/b.js",
      "lib/deep",
      "lib/deep/run.sh",
      "server.js",
    ]);
  });

  it("round-trips through unpackTar, keeping modes and symlinks", async () => {
    makeTree(join(dir, "src"), new Date());
    const parts: Buffer[] = [];
    for await (const c of packDirectory(join(dir, "src"))) parts.push(c);
    mkdirSync(join(dir, "out"));
    await unpackTar(chunks(Buffer.concat(parts)), join(dir, "out"));
    expect(readFileSync(join(dir, "out/lib/a.js"), "utf8")).toBe("a\n");
    expect(readFileSync(join(dir, "out/a-link.js"), "utf8")).toBe("a\n");
    expect(existsSync(join(dir, "out/lib/deep/run.sh"))).toBe(true);
  });
});

describe("unpackTar", () => {
  const out = (): string => {
    const o = join(dir, "a", "b", "out");
    mkdirSync(o, { recursive: true });
    return o;
  };

  it("unpacks a plain archive and counts its bytes", async () => {
    const tar = rawTar([
      { path: "app/", type: "5" },
      { path: "app/index.js", body: "hi" },
    ]);
    const r = await unpackTar(chunks(tar), out());
    expect(r.bytes).toBe(tar.length);
    expect(readFileSync(join(dir, "a/b/out/app/index.js"), "utf8")).toBe("hi");
  });

  it.each<[string, RawEntry, RegExp]>([
    ["a ../ path", { path: "../evil.txt", body: "x" }, /\.\.\/evil.txt: the path is outside/],
    ["a nested ../ path", { path: "ok/../../evil.txt", body: "x" }, /the path is outside/],
    ["an absolute path", { path: "/tmp/evil.txt", body: "x" }, /the path is outside/],
    [
      "a symlink pointing up",
      { path: "link", type: "2", linkpath: "../../etc" },
      /the symbolic link points outside the app directory \(..\/..\/etc\)/,
    ],
    [
      "an absolute symlink",
      { path: "passwd", type: "2", linkpath: "/etc/passwd" },
      /symbolic link points outside/,
    ],
    [
      "a hard link out",
      { path: "h", type: "1", linkpath: "../evil.txt" },
      /hard link points outside/,
    ],
    ["a device", { path: "dev", type: "3" }, /CharacterDevice entries are not allowed/],
  ])("refuses the whole archive for %s", async (_what, evil, message) => {
    const target = out();
    const tar = rawTar([{ path: "fine.txt", body: "ok" }, evil, { path: "after.txt", body: "x" }]);
    await expect(unpackTar(chunks(tar), target)).rejects.toThrow(message);
    expect(existsSync(join(dir, "a/b/evil.txt"))).toBe(false);
    expect(existsSync(join(dir, "a/evil.txt"))).toBe(false);
    expect(existsSync(join(target, "link"))).toBe(false);
  });

  it("refuses a source over the size limit", async () => {
    const tar = rawTar([{ path: "big.txt", body: "x".repeat(10_000) }]);
    await expect(unpackTar(chunks(tar), out(), { maxBytes: 4096 })).rejects.toThrow(
      /the source is larger than 4.0 KB/,
    );
  });

  it("says when the input is not a tar archive", async () => {
    await expect(
      unpackTar(chunks(Buffer.from("this is not a tar file at all".repeat(40))), out()),
    ).rejects.toThrow(/not a readable tar archive/);
  });
});
