import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Checkouts } from "./checkout.js";

let dir: string;
let repo: string;
let commit: string;
const git = (...args: string[]): string =>
  execFileSync("git", args, {
    cwd: repo,
    env: {
      PATH: process.env["PATH"],
      HOME: dir,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
    },
  }).toString();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gantry-checkout-"));
  repo = join(dir, "repo");
  mkdirSync(join(repo, "stack"), { recursive: true });
  git("init", "-q", "-b", "main");
  writeFileSync(join(repo, "top.txt"), "top\n");
  writeFileSync(join(repo, "stack", "gantry.yaml"), "stack: {name: demo}\n");
  git("add", "-A");
  git("commit", "-q", "-m", "one");
  commit = git("rev-parse", "HEAD").trim();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Checkouts.fromRepo", () => {
  it("archives a commit, or one folder of it, from a repository on disk", async () => {
    const c = new Checkouts(join(dir, "data"));
    const whole = await c.fromRepo(join(repo, ".git"), commit, "", 1 << 20);
    expect(readFileSync(join(whole, "top.txt"), "utf8")).toBe("top\n");
    const sub = await c.fromRepo(join(repo, ".git"), commit, "stack", 1 << 20);
    expect(readFileSync(join(sub, "gantry.yaml"), "utf8")).toContain("demo");
  });

  it("names a folder the commit lacks, and git's own error otherwise; leaves nothing behind", async () => {
    const c = new Checkouts(join(dir, "data2"));
    await expect(c.fromRepo(join(repo, ".git"), commit, "nope", 1 << 20)).rejects.toThrow(
      `the folder "nope" does not exist in commit ${commit.slice(0, 12)}`,
    );
    const other = "f".repeat(40);
    await expect(c.fromRepo(join(repo, ".git"), other, "", 1 << 20)).rejects.toThrow(
      /git archive failed/,
    );
    expect(c.path(commit)).toBeUndefined();
  });
});
