import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { tarGz, type TarEntry } from "../../../test/helpers/tarball.js";
import { ArtifactRefusedError, checkEntries, unpackArtifact } from "./unpack.js";

const root = mkdtempSync(join(tmpdir(), "gantry-unpack-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let box: string; // everything an archive could reach by escaping: <box>/instances/x/app
let dest: string;
let n = 0;
beforeEach(() => {
  box = join(root, `case-${++n}`);
  dest = join(box, "instances", "x", "app");
  mkdirSync(join(box, "instances", "x"), { recursive: true });
});

const archive = (entries: TarEntry[]): string => {
  const file = join(box, "a.tar.gz");
  writeFileSync(file, tarGz(entries));
  return file;
};

/** Every path under the box except the archive itself and the app directory. */
const outside = (): string[] =>
  readdirSync(box, { recursive: true, encoding: "utf8" })
    .filter((p) => p !== "a.tar.gz" && !p.startsWith(join("instances", "x", "app")))
    .sort();

describe("unpackArtifact", () => {
  it("unpacks an app with directories, modes and symlinks that stay inside", async () => {
    await unpackArtifact(
      archive([
        { path: "Procfile", body: "web: node server.js\n" },
        { path: "bin/", type: "Directory" },
        { path: "bin/start", body: "#!/bin/sh\n", mode: 0o4755 },
        { path: "node_modules/x/bin/x.js", body: "1" },
        { path: "node_modules/.bin/x", type: "SymbolicLink", linkpath: "../x/bin/x.js" },
        { path: "current", type: "SymbolicLink", linkpath: "." },
      ]),
      dest,
    );
    expect(readFileSync(join(dest, "Procfile"), "utf8")).toBe("web: node server.js\n");
    expect(readFileSync(join(dest, "node_modules/.bin/x"), "utf8")).toBe("1");
    expect(readlinkSync(join(dest, "current"))).toBe(".");
    // Executable stays executable; setuid is dropped.
    expect(statSync(join(dest, "bin/start")).mode & 0o7777).toBe(0o755);
    expect(outside()).toEqual(["instances", "instances/x"]);
  });

  it("replaces what was there, and leaves it untouched when refused", async () => {
    await unpackArtifact(archive([{ path: "v1", body: "1" }]), dest);
    await unpackArtifact(archive([{ path: "v2", body: "2" }]), dest);
    expect(readdirSync(dest)).toEqual(["v2"]);
    await expect(
      unpackArtifact(
        archive([
          { path: "v3", body: "3" },
          { path: "../evil", body: "x" },
        ]),
        dest,
      ),
    ).rejects.toBeInstanceOf(ArtifactRefusedError);
    expect(readdirSync(dest)).toEqual(["v2"]);
    expect(readdirSync(join(box, "instances", "x"))).toEqual(["app"]); // no temp dir left
  });

  const evil: [string, TarEntry[]][] = [
    ["an absolute path", [{ path: `/tmp/gantry-evil-${process.pid}`, body: "x" }]],
    ["a path with ..", [{ path: "../../escaped", body: "x" }]],
    ["a path with .. in the middle", [{ path: "a/../../escaped", body: "x" }]],
    [
      "a file written through a symlink that points out",
      [
        { path: "out", type: "SymbolicLink", linkpath: "../.." },
        { path: "out/escaped", body: "x" },
      ],
    ],
    [
      "a file written through a symlink that points in",
      [
        { path: "sub/", type: "Directory" },
        { path: "in", type: "SymbolicLink", linkpath: "sub" },
        { path: "in/file", body: "x" },
      ],
    ],
    ["a symlink to an absolute path", [{ path: "etc", type: "SymbolicLink", linkpath: "/etc" }]],
    ["a symlink climbing out", [{ path: "a/up", type: "SymbolicLink", linkpath: "../../x" }]],
    [
      "a symlink that climbs out through another symlink",
      [
        { path: "d", type: "SymbolicLink", linkpath: "." },
        { path: "e", type: "SymbolicLink", linkpath: "d/.." },
      ],
    ],
    [
      "a hard link to a file outside",
      [{ path: "passwd", type: "Link", linkpath: "../../../../etc/passwd" }],
    ],
    [
      "a hard link to an absolute path",
      [{ path: "passwd", type: "Link", linkpath: "/etc/passwd" }],
    ],
    [
      "a hard link to a symlink (its relative target would move)",
      [
        { path: "a/b/l", type: "SymbolicLink", linkpath: "../x" },
        { path: "top", type: "Link", linkpath: "a/b/l" },
      ],
    ],
    ["a FIFO", [{ path: "pipe", type: "FIFO" }]],
    ["a device", [{ path: "dev", type: "CharacterDevice" }]],
  ];

  for (const [what, entries] of evil) {
    it(`refuses ${what}, writing nothing anywhere`, async () => {
      const err = await unpackArtifact(
        archive([{ path: "ok.txt", body: "fine" }, ...entries]),
        dest,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ArtifactRefusedError);
      expect(existsSync(dest)).toBe(false);
      expect(outside()).toEqual(["instances", "instances/x"]);
      expect(existsSync(`/tmp/gantry-evil-${process.pid}`)).toBe(false);
    });
  }

  it("refuses what is not a .tar.gz", async () => {
    const file = join(box, "a.tar.gz");
    writeFileSync(file, "not an archive");
    await expect(unpackArtifact(file, dest)).rejects.toThrow(/not a readable/);
  });
});

describe("checkEntries", () => {
  it("names the entry it refuses", () => {
    expect(() => checkEntries([{ path: "x/../../y", type: "File" }])).toThrow(
      "x/../../y: the path leaves the app directory",
    );
  });

  it("allows a relative symlink that goes up and down again inside", () => {
    expect(() =>
      checkEntries([
        { path: "a/b/c", type: "SymbolicLink", linkpath: "../../d/e" },
        { path: "d/e", type: "File" },
      ]),
    ).not.toThrow();
  });
});
