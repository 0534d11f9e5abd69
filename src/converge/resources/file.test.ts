import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileType } from "./file.js";
import { resolveGroup, resolveUser } from "./fs/ids.js";
import { converge, snapshotTree, testContext } from "./test-context.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "gantry-file-"));
const nobody = resolveUser("nobody") as number;
const daemonGid = resolveGroup("daemon") as number;
const check = testContext({ check: true });

/** Inspects in check mode, asserting the inspection changed nothing on disk. */
async function inspectOnly(
  dir: string,
  name: string,
  props: unknown,
): Promise<{ changes: string[]; diff?: string }> {
  const before = snapshotTree(dir);
  const insp = await converge(fileType, name, props, check);
  const again = await fileType.inspect(name, fileType.fields.parse(props), testContext());
  expect(again.changes).toEqual(insp.changes); // a non-check inspect, never applied, too
  expect(snapshotTree(dir)).toEqual(before);
  return insp;
}

describe("file", () => {
  it("creates the file with content, mode, owner and group; a second run changes nothing", async () => {
    const dir = tmp();
    const path = join(dir, "app.conf");
    const props = { content: "port=80\n", mode: "0640", owner: "nobody", group: "daemon" };
    const first = await converge(fileType, path, props);
    expect(first.changes).toEqual(["create"]);
    expect(first.diff).toBe(`--- /dev/null\n+++ ${path}\n@@ -0,0 +1 @@\n+port=80\n`);
    const st = statSync(path);
    expect(readFileSync(path, "utf8")).toBe("port=80\n");
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o640, nobody, daemonGid]);
    const second = await converge(fileType, path, props);
    expect(second.changes).toEqual([]);
    expect(second.diff).toBeUndefined();
    expect(readdirSync(dir)).toEqual(["app.conf"]);
  });

  it("gives a new file 0644 and the runner's owner, whatever the umask", async () => {
    const path = join(tmp(), "f");
    const old = process.umask(0o077);
    try {
      await converge(fileType, path, { content: "x" });
    } finally {
      process.umask(old);
    }
    const st = statSync(path);
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o644, 0, 0]);
  });

  it("reports changed content with a diff, changing nothing until apply", async () => {
    const dir = tmp();
    const path = join(dir, "app.conf");
    writeFileSync(path, "a\nport=8080\nb\n");
    chmodSync(path, 0o600);
    const props = { content: "a\nport=80\nb\n" };
    const seen = await inspectOnly(dir, path, props);
    expect(seen.changes).toEqual(["content"]);
    expect(seen.diff).toBe(
      `--- ${path}\n+++ ${path}\n@@ -1,3 +1,3 @@\n a\n-port=8080\n+port=80\n b\n`,
    );
    expect((await converge(fileType, path, props)).changes).toEqual(["content"]);
    expect(readFileSync(path, "utf8")).toBe("a\nport=80\nb\n");
    expect(statSync(path).mode & 0o7777).toBe(0o600); // kept: no mode asked for
    expect((await converge(fileType, path, props)).changes).toEqual([]);
  });

  it("fixes mode, owner and group in place without rewriting the content", async () => {
    const dir = tmp();
    const path = join(dir, "f");
    writeFileSync(path, "same\n");
    chmodSync(path, 0o600);
    const props = { content: "same\n", mode: "0644", owner: String(nobody), group: "daemon" };
    const seen = await inspectOnly(dir, path, props);
    expect(seen.changes).toEqual([
      "mode 0600 → 0644",
      "owner root → nobody",
      "group root → daemon",
    ]);
    expect(seen.diff).toBeUndefined();
    const before = statSync(path);
    expect((await converge(fileType, path, props)).changes).toEqual(seen.changes);
    const after = statSync(path);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect([after.mode & 0o7777, after.uid, after.gid]).toEqual([0o644, nobody, daemonGid]);
    expect((await converge(fileType, path, props)).changes).toEqual([]);
  });

  it("keeps a setuid bit when only the owner changes", async () => {
    const path = join(tmp(), "tool");
    writeFileSync(path, "#!/bin/sh\n");
    chmodSync(path, 0o4755);
    const changes = (await converge(fileType, path, { content: "#!/bin/sh\n", owner: "daemon" }))
      .changes;
    expect(changes).toEqual(["owner root → daemon"]);
    expect(statSync(path).mode & 0o7777).toBe(0o4755);
  });

  it("takes numeric ids that have no account", async () => {
    const path = join(tmp(), "f");
    const props = { content: "x", owner: 4242, group: "4343" };
    await converge(fileType, path, props);
    expect([statSync(path).uid, statSync(path).gid]).toEqual([4242, 4343]);
    chownSync(path, 0, 0);
    expect((await converge(fileType, path, props)).changes).toEqual([
      "owner root → 4242",
      "group root → 4343",
    ]);
  });

  it("changes content and mode in one atomic write", async () => {
    const dir = tmp();
    const path = join(dir, "f");
    writeFileSync(path, "old\n");
    const props = { content: "new\n", mode: "0600", owner: "daemon" };
    const seen = await inspectOnly(dir, path, props);
    expect(seen.changes).toEqual(["content", "mode 0644 → 0600", "owner root → daemon"]);
    await converge(fileType, path, props);
    const st = statSync(path);
    expect([readFileSync(path, "utf8"), st.mode & 0o7777, st.uid]).toEqual([
      "new\n",
      0o600,
      resolveUser("daemon"),
    ]);
    expect(readdirSync(dir)).toEqual(["f"]);
  });

  it("recreates a removed file", async () => {
    const dir = tmp();
    const path = join(dir, "f");
    const props = { content: "x\n" };
    await converge(fileType, path, props);
    rmSync(path);
    expect((await inspectOnly(dir, path, props)).changes).toEqual(["create"]);
    expect((await converge(fileType, path, props)).changes).toEqual(["create"]);
    expect(readFileSync(path, "utf8")).toBe("x\n");
  });

  it("copies a source file from the states dir verbatim, {{ }} and all", async () => {
    const path = join(tmp(), "motd");
    const ctx = testContext({ files: { "files/motd": "Hello {{ name }}\n" }, vars: { name: "x" } });
    await converge(fileType, path, { source: "files/motd" }, ctx);
    expect(readFileSync(path, "utf8")).toBe("Hello {{ name }}\n");
    await expect(converge(fileType, path, { source: "files/nope" }, ctx)).rejects.toThrow(
      /files\/nope/,
    );
  });

  it("replaces a symlink with a regular file", async () => {
    const dir = tmp();
    const target = join(dir, "target");
    writeFileSync(target, "keep\n");
    const path = join(dir, "f");
    symlinkSync(target, path);
    expect((await inspectOnly(dir, path, { content: "x\n" })).changes).toEqual([
      "replace symlink with file",
    ]);
    await converge(fileType, path, { content: "x\n" });
    expect(lstatSync(path).isFile()).toBe(true);
    expect(readFileSync(target, "utf8")).toBe("keep\n");
  });

  it("fails on a missing parent directory unless makeDirs, and reports it in check mode", async () => {
    const dir = tmp();
    const path = join(dir, "a", "b", "f");
    await expect(converge(fileType, path, { content: "x" })).rejects.toThrow(
      `cannot create ${path}: directory ${join(dir, "a", "b")} does not exist (create it first, or set makeDirs: true)`,
    );
    const before = snapshotTree(dir);
    expect((await converge(fileType, path, { content: "x" }, check)).changes).toEqual(["create"]);
    expect(snapshotTree(dir)).toEqual(before);
    const made = await converge(fileType, path, { content: "x", makeDirs: true });
    expect(made.changes).toEqual([`create directory ${join(dir, "a")}`, "create"]);
    expect(readFileSync(path, "utf8")).toBe("x");
    expect(statSync(join(dir, "a")).mode & 0o777).toBe(0o755);
  });

  it("fails clearly when a directory is in the way", async () => {
    const dir = tmp();
    mkdirSync(join(dir, "d"));
    await expect(converge(fileType, join(dir, "d"), { content: "x" })).rejects.toMatchObject({
      code: "resource_failed",
      message: `cannot manage ${join(dir, "d")}: it is a directory, not a file (remove it first with absent)`,
    });
  });

  it("turns errno errors into ResourceFailed naming the path", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "plain"), "");
    await expect(
      converge(fileType, join(dir, "plain", "f"), { content: "x" }),
    ).rejects.toMatchObject({
      code: "resource_failed",
      message: `cannot inspect ${join(dir, "plain", "f")}: a parent of it is not a directory`,
    });
    const locked = join(dir, "locked");
    mkdirSync(locked);
    execFileSync("chattr", ["+i", locked]);
    try {
      await expect(converge(fileType, join(locked, "f"), { content: "x" })).rejects.toMatchObject({
        code: "resource_failed",
        message: `cannot write ${join(locked, "f")}: operation not permitted (EPERM)`,
      });
    } finally {
      execFileSync("chattr", ["-i", locked]);
    }
  });

  it("fails on a user that does not exist, except in check mode where it reports the change", async () => {
    const dir = tmp();
    const path = join(dir, "f");
    writeFileSync(path, "x");
    const props = { content: "x", owner: "no-such-user-gantry" };
    await expect(converge(fileType, path, props)).rejects.toThrow(
      `${path}: owner: user "no-such-user-gantry" does not exist`,
    );
    expect((await converge(fileType, path, props, check)).changes).toEqual([
      "owner root → no-such-user-gantry",
    ]);
  });

  it("redacts secrets in the diff", async () => {
    const path = join(tmp(), "f");
    const ctx = testContext({ secrets: ["hunter2"] });
    const insp = await converge(fileType, path, { content: "password=hunter2\n" }, ctx);
    expect(insp.diff).toContain("+password=[secret]");
    expect(insp.diff).not.toContain("hunter2");
  });

  it("validates: content or source, exactly one; an absolute path; an octal mode", () => {
    const v = (name: string, props: unknown) =>
      fileType.validate?.(name, fileType.fields.parse(props));
    expect(v("/f", { content: "x", source: "y" })).toEqual({
      field: "content",
      message: "set content or source, not both",
    });
    expect(v("/f", {})).toEqual({ field: "content", message: "set content or source" });
    expect(v("etc/f", { content: "x" })?.message).toMatch(/absolute path/);
    expect(v("{{ dir }}/f", { content: "x" })).toBeUndefined();
    expect(fileType.fields.safeParse({ content: "x", mode: "644x" }).success).toBe(false);
    expect(fileType.fields.safeParse({ content: "x", mode: 644 }).success).toBe(false);
    expect(fileType.fields.safeParse({ content: "x", contnet: "y" }).success).toBe(false);
  });
});
