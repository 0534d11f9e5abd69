import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  lstatSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { editLines, lineType } from "./line.js";
import { resolveGroup, resolveUser } from "./fs/ids.js";
import { converge, snapshotTree, testContext } from "./test-context.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "gantry-line-"));
const check = testContext({ check: true });

async function inspectOnly(root: string, path: string, props: unknown) {
  const before = snapshotTree(root);
  const insp = await converge(lineType, path, props, check);
  expect(snapshotTree(root)).toEqual(before);
  return insp;
}

describe("editLines", () => {
  const present = (line: string, match?: RegExp) => ({ line, match, state: "present" as const });

  it("appends a missing line, adding the newline a file lacked", () => {
    expect(editLines("a\nb\n", present("c"))).toEqual({ text: "a\nb\nc\n", change: "append line" });
    expect(editLines("a", present("c"))).toEqual({ text: "a\nc\n", change: "append line" });
    expect(editLines("", present("c"))).toEqual({ text: "c\n", change: "append line" });
    expect(editLines("a\nc\n", present("c"))).toEqual({ text: "a\nc\n" });
  });

  it("replaces the last matching line, else appends unless the line is there", () => {
    const re = /^#?Port /;
    expect(editLines("Port 22\nx\n#Port 2222\n", present("Port 2200", re))).toEqual({
      text: "Port 22\nx\nPort 2200\n",
      change: "replace line 3",
    });
    expect(editLines("Port 2200\n", present("Port 2200", re))).toEqual({ text: "Port 2200\n" });
    expect(editLines("x\n", present("Port 2200", re)).change).toBe("append line");
    // the match need not match the line itself: once replaced, the line is there
    expect(editLines("a\nPort 2200\n", present("Port 2200", /^#Port/))).toEqual({
      text: "a\nPort 2200\n",
    });
  });

  it("removes equal lines, or matching lines", () => {
    expect(editLines("a\nb\na\n", { line: "a", state: "absent" })).toEqual({
      text: "b\n",
      change: "remove 2 lines",
    });
    expect(editLines("PermitRootLogin yes\nx", { match: /^PermitRoot/, state: "absent" })).toEqual({
      text: "x",
      change: "remove 1 line",
    });
    expect(editLines("a\n", { line: "a", state: "absent" })).toEqual({
      text: "",
      change: "remove 1 line",
    });
    expect(editLines("b\n", { line: "a", state: "absent" })).toEqual({ text: "b\n" });
  });
});

describe("line", () => {
  it("appends a line, keeping mode and owner; a second run changes nothing", async () => {
    const root = tmp();
    const path = join(root, "sshd_config");
    writeFileSync(path, "Port 22\nUsePAM yes\n");
    chmodSync(path, 0o600);
    chownSync(path, resolveUser("daemon") as number, resolveGroup("daemon") as number);
    const props = { text: "PermitRootLogin no" };
    const seen = await inspectOnly(root, path, props);
    expect(seen.changes).toEqual(["append line"]);
    expect(seen.diff).toBe(
      `--- ${path}\n+++ ${path}\n@@ -1,2 +1,3 @@\n Port 22\n UsePAM yes\n+PermitRootLogin no\n`,
    );
    expect((await converge(lineType, path, props)).changes).toEqual(["append line"]);
    expect(readFileSync(path, "utf8")).toBe("Port 22\nUsePAM yes\nPermitRootLogin no\n");
    const st = statSync(path);
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([
      0o600,
      resolveUser("daemon"),
      resolveGroup("daemon"),
    ]);
    expect((await converge(lineType, path, props)).changes).toEqual([]);
  });

  it("replaces a drifted line by regex, and removes lines", async () => {
    const root = tmp();
    const path = join(root, "conf");
    const props = { text: "Port 2200", match: "^#?Port " };
    writeFileSync(path, "#Port 22\nx\n");
    expect((await converge(lineType, path, props)).changes).toEqual(["replace line 1"]);
    writeFileSync(path, "Port 22\nx\n"); // drift
    expect((await inspectOnly(root, path, props)).changes).toEqual(["replace line 1"]);
    await converge(lineType, path, props);
    expect(readFileSync(path, "utf8")).toBe("Port 2200\nx\n");
    const absent = { match: "^x$", state: "absent" };
    expect((await inspectOnly(root, path, absent)).changes).toEqual(["remove 1 line"]);
    await converge(lineType, path, absent);
    expect(readFileSync(path, "utf8")).toBe("Port 2200\n");
    expect((await converge(lineType, path, absent)).changes).toEqual([]);
    expect((await converge(lineType, path, props)).changes).toEqual([]);
  });

  it("fails on a missing file unless create; reports it in check mode; absent is satisfied", async () => {
    const root = tmp();
    const path = join(root, "new.conf");
    await expect(converge(lineType, path, { text: "a" })).rejects.toMatchObject({
      code: "resource_failed",
      message: `cannot edit ${path}: it does not exist (set create: true to create it)`,
    });
    expect((await inspectOnly(root, path, { text: "a" })).changes).toEqual([
      `append line (${path} does not exist yet)`,
    ]);
    expect((await converge(lineType, path, { text: "a", state: "absent" })).changes).toEqual([]);
    const created = await converge(lineType, path, { text: "a", create: true });
    expect(created.changes).toEqual(["create", "append line"]);
    expect(created.diff).toBe(`--- /dev/null\n+++ ${path}\n@@ -0,0 +1 @@\n+a\n`);
    expect(readFileSync(path, "utf8")).toBe("a\n");
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect((await converge(lineType, path, { text: "a", create: true })).changes).toEqual([]);
  });

  it("edits the file a symlink points at, keeping the link", async () => {
    const root = tmp();
    writeFileSync(join(root, "real"), "a\n");
    symlinkSync("real", join(root, "link"));
    await converge(lineType, join(root, "link"), { text: "b" });
    expect(lstatSync(join(root, "link")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(root, "real"), "utf8")).toBe("a\nb\n");
  });

  it("redacts secrets in the diff", async () => {
    const root = tmp();
    const path = join(root, "f");
    writeFileSync(path, "");
    const insp = await converge(
      lineType,
      path,
      { text: "token=s3cr3t" },
      testContext({ secrets: ["s3cr3t"] }),
    );
    expect(insp.diff).toContain("+token=[secret]");
    expect(insp.changes.join()).not.toContain("s3cr3t");
  });

  it("fails with the path and the reason", async () => {
    const root = tmp();
    const path = join(root, "f");
    writeFileSync(path, "a\n");
    execFileSync("chattr", ["+i", root]);
    try {
      await expect(converge(lineType, path, { text: "b" })).rejects.toMatchObject({
        code: "resource_failed",
        message: `cannot write ${path}: operation not permitted (EPERM)`,
      });
    } finally {
      execFileSync("chattr", ["-i", root]);
    }
    expect(readFileSync(path, "utf8")).toBe("a\n");
    await expect(converge(lineType, root, { text: "b" })).rejects.toThrow(
      `cannot edit ${root}: it is a directory, not a file`,
    );
    expect(existsSync(join(root, "f"))).toBe(true);
  });

  it("validates: text required when present, text or match when absent, one line, a valid regex", () => {
    const v = (props: unknown) => lineType.validate?.("/f", lineType.fields.parse(props));
    expect(v({})).toEqual({ field: "text", message: "the line to ensure is required" });
    expect(v({ state: "absent" })).toEqual({
      field: "text",
      message: "set text or match: what to remove",
    });
    expect(v({ text: "a\nb" })?.field).toBe("text");
    expect(v({ text: "a", match: "(" })?.field).toBe("match");
    expect(v({ state: "absent", match: "^x" })).toBeUndefined();
    expect(lineType.fields.safeParse({ text: "a", state: "gone" }).success).toBe(false);
    expect(lineType.fields.safeParse({ line: "a" }).success).toBe(false);
  });
});
