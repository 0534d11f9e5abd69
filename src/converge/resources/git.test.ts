import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  existsSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResourceFailed } from "../errors.js";
import { testContext } from "./test-context.js";
import type { ResourceContext } from "../types.js";
import { gitType, type GitProps } from "./git.js";
import { isolatedGitEnv } from "../../../test/helpers/git-env.js";

const context = (check = false): ResourceContext => testContext({ check });

let root: string;
let origin: string;
let dest: string;

function sh(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: isolatedGitEnv(root),
  }).trim();
}

let n = 0;
/** A new commit in the origin repo changing app.txt; returns its id. */
function commit(text: string): string {
  writeFileSync(join(origin, "app.txt"), text);
  sh(origin, "add", "app.txt");
  sh(origin, "commit", "-q", "-m", `commit ${++n} ${text}`);
  return sh(origin, "rev-parse", "HEAD");
}

const head = (): string => sh(dest, "rev-parse", "HEAD");

async function converge(p: GitProps): Promise<string[]> {
  const i = await gitType.inspect(dest, p, context());
  await i.apply();
  return i.changes;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "gantry-git-"));
  origin = join(root, "origin");
  dest = join(root, "work", "app");
  mkdirSync(origin);
  sh(origin, "init", "-q", "-b", "main");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("git", () => {
  it("clones the remote HEAD, and a second run changes nothing", async () => {
    const c1 = commit("one");
    expect(await converge({ repo: origin })).toEqual([`clone ${origin} at ${c1.slice(0, 12)}`]);
    expect(head()).toBe(c1);
    expect(readFileSync(join(dest, "app.txt"), "utf8")).toBe("one");
    const again = await gitType.inspect(dest, { repo: origin }, context());
    expect(again.changes).toEqual([]);
  });

  it("check mode on a missing destination reports the clone and creates nothing", async () => {
    const c1 = commit("one");
    const i = await gitType.inspect(dest, { repo: origin }, context(true));
    expect(i.changes).toEqual([`clone ${origin} at ${c1.slice(0, 12)}`]);
    expect(existsSync(dest)).toBe(false);
  });

  it("follows a branch, an annotated tag and a full commit id", async () => {
    const c1 = commit("one");
    sh(origin, "tag", "-a", "v1", "-m", "release 1");
    const c2 = commit("two");
    sh(origin, "branch", "old", c1);
    await converge({ repo: origin, ref: "v1" });
    expect(head()).toBe(c1);
    expect(await converge({ repo: origin, ref: "main" })).toEqual([
      `checkout ${c1.slice(0, 12)} → ${c2.slice(0, 12)}`,
    ]);
    expect(head()).toBe(c2);
    await converge({ repo: origin, ref: c1 });
    expect(head()).toBe(c1);
    expect((await gitType.inspect(dest, { repo: origin, ref: "old" }, context())).changes).toEqual(
      [],
    );
    expect((await gitType.inspect(dest, { repo: origin, ref: "v1" }, context())).changes).toEqual(
      [],
    );
  });

  it("drift: the remote branch moved — check reports the checkout, apply makes exactly it", async () => {
    const c1 = commit("one");
    await converge({ repo: origin, ref: "main" });
    const c2 = commit("two");
    const check = await gitType.inspect(dest, { repo: origin, ref: "main" }, context(true));
    expect(check.changes).toEqual([`checkout ${c1.slice(0, 12)} → ${c2.slice(0, 12)}`]);
    expect(head()).toBe(c1);
    expect(readFileSync(join(dest, "app.txt"), "utf8")).toBe("one");
    expect(await converge({ repo: origin, ref: "main" })).toEqual(check.changes);
    expect(head()).toBe(c2);
    expect(readFileSync(join(dest, "app.txt"), "utf8")).toBe("two");
    expect((await gitType.inspect(dest, { repo: origin, ref: "main" }, context())).changes).toEqual(
      [],
    );
  });

  it("drift: the work tree's HEAD was moved locally", async () => {
    const c1 = commit("one");
    const c2 = commit("two");
    await converge({ repo: origin });
    sh(dest, "checkout", "-q", "--detach", c1);
    const check = await gitType.inspect(dest, { repo: origin }, context(true));
    expect(check.changes).toEqual([`checkout ${c1.slice(0, 12)} → ${c2.slice(0, 12)}`]);
    expect(head()).toBe(c1);
    await converge({ repo: origin });
    expect(head()).toBe(c2);
  });

  it("a dirty work tree fails without force, and force discards the changes", async () => {
    commit("one");
    await converge({ repo: origin });
    writeFileSync(join(dest, "app.txt"), "local edit");
    const indexBefore = statSync(join(dest, ".git", "index")).mtimeMs;
    const err = await gitType
      .inspect(dest, { repo: origin }, context(true))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceFailed);
    expect((err as Error).message).toMatch(/has local changes \(app.txt\); set force: true/);
    const check = await gitType.inspect(dest, { repo: origin, force: true }, context(true));
    expect(check.changes).toEqual(["discard local changes to 1 files"]);
    expect(readFileSync(join(dest, "app.txt"), "utf8")).toBe("local edit");
    expect(statSync(join(dest, ".git", "index")).mtimeMs).toBe(indexBefore);
    expect(await converge({ repo: origin, force: true })).toEqual(check.changes);
    expect(readFileSync(join(dest, "app.txt"), "utf8")).toBe("one");
    expect((await gitType.inspect(dest, { repo: origin }, context())).changes).toEqual([]);
  });

  it("an untracked file is not a local change", async () => {
    commit("one");
    await converge({ repo: origin });
    writeFileSync(join(dest, "build.log"), "x");
    expect((await gitType.inspect(dest, { repo: origin }, context())).changes).toEqual([]);
  });

  it("a new origin URL is reported and set", async () => {
    const c1 = commit("one");
    await converge({ repo: origin });
    const mirror = join(root, "mirror.git");
    sh(root, "clone", "-q", "--bare", origin, mirror);
    expect(await converge({ repo: mirror })).toEqual([`origin ${origin} → ${mirror}`]);
    expect(sh(dest, "config", "--get", "remote.origin.url")).toBe(mirror);
    expect(head()).toBe(c1);
  });

  it("an unknown ref, an unreachable repo, and a non-repo destination fail clearly", async () => {
    commit("one");
    await expect(gitType.inspect(dest, { repo: origin, ref: "nope" }, context())).rejects.toThrow(
      /ref nope is not a branch or tag of/,
    );
    await expect(gitType.inspect(dest, { repo: join(root, "missing") }, context())).rejects.toThrow(
      /git ls-remote .*exit code/,
    );
    mkdirSync(dest, { recursive: true });
    writeFileSync(join(dest, "x"), "");
    await expect(gitType.inspect(dest, { repo: origin }, context())).rejects.toThrow(
      /exists and is not a git work tree/,
    );
  });

  it("validates: the destination must be absolute, unknown fields are errors", () => {
    expect(gitType.validate?.("rel/dir", { repo: origin })).toEqual({
      field: "git",
      message: 'must be an absolute path, got "rel/dir"',
    });
    expect(gitType.validate?.("{{ root }}/app", { repo: origin })).toBeUndefined();
    expect(gitType.fields.safeParse({ repo: "x", branch: "main" }).success).toBe(false);
  });
});
