import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { packFiles, readSourceFolder } from "./apps-source.js";
import { isolatedGitEnv } from "../../../test/helpers/git-env.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "gantry-source-"));
  dirs.push(dir);
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), body);
  }
  return dir;
}

const git = (dir: string, ...args: string[]): string =>
  execFileSync("git", args, {
    cwd: dir,
    encoding: "utf8",
    env: isolatedGitEnv(dir),
  });

const APP = {
  "package.json": '{"scripts":{"start":"node server.js"}}',
  "server.js": "1",
  "lib/a.js": "a",
};

describe("a source folder", () => {
  it("hashes the same files to the same hash, and changes with content or the executable bit", async () => {
    const one = await readSourceFolder(folder(APP));
    const dir = folder(APP);
    expect((await readSourceFolder(dir)).hash).toBe(one.hash);
    expect(one.files).toEqual(["lib/a.js", "package.json", "server.js"]);
    writeFileSync(join(dir, "server.js"), "2");
    const edited = await readSourceFolder(dir);
    expect(edited.hash).not.toBe(one.hash);
    chmodSync(join(dir, "server.js"), 0o755);
    expect((await readSourceFolder(dir)).hash).not.toBe(edited.hash);
  });

  it("leaves .git out of a folder outside a repository", async () => {
    const dir = folder({ ...APP, ".git/HEAD": "x" });
    const r = await readSourceFolder(dir);
    expect(r.files).not.toContain(".git/HEAD");
    expect(r.commit).toBeUndefined();
  });

  it("inside a git repository, follows git's ignore rules, uncommitted files included", async () => {
    const repo = folder({ ".gitignore": "node_modules/\n", "web/.gitignore": "*.log\n" });
    git(repo, "init", "-q", "-b", "main");
    const web = join(repo, "web");
    for (const [p, b] of Object.entries({ ...APP, "debug.log": "x", "node_modules/x/i.js": "y" })) {
      mkdirSync(join(web, p, ".."), { recursive: true });
      writeFileSync(join(web, p), b);
    }
    const r = await readSourceFolder(web);
    expect(r.files).toEqual([".gitignore", "lib/a.js", "package.json", "server.js"]);
    // Not committed yet: no commit to name the build after.
    expect(r.commit).toBeUndefined();
    // The same files outside a repository hash alike: the hash is of the files, not of git.
    const plain = folder({ ...APP, ".gitignore": "*.log\n" });
    expect((await readSourceFolder(plain)).hash).toBe(r.hash);
  });

  it("names the HEAD commit only while the folder has no uncommitted change", async () => {
    const repo = folder(APP);
    git(repo, "init", "-q", "-b", "main");
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "one");
    const head = git(repo, "rev-parse", "HEAD").trim();
    expect((await readSourceFolder(repo)).commit).toBe(head);
    writeFileSync(join(repo, "server.js"), "changed");
    expect((await readSourceFolder(repo)).commit).toBeUndefined();
    rmSync(join(repo, "lib/a.js"));
    // A tracked file deleted by hand is gone from the build too.
    expect((await readSourceFolder(repo)).files).toEqual(["package.json", "server.js"]);
  });

  it("packs exactly the listed files, the same bytes every time", async () => {
    const dir = folder({ ...APP, "skip.txt": "no" });
    const files = ["lib/a.js", "package.json", "server.js"];
    const one = await packFiles(dir, files);
    expect((await packFiles(dir, files)).equals(one)).toBe(true);
    const out = folder({});
    writeFileSync(join(out, "a.tar"), one);
    const listed = execFileSync("tar", ["-tf", join(out, "a.tar")], { encoding: "utf8" });
    expect(listed.trim().split("\n").sort()).toEqual(files);
  });
});
