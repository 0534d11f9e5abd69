import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isBinary, unifiedDiff } from "./diff.js";

const labels = { from: "a", to: "b" };

/** Both sides rebuilt from a full-context diff (the header and hunk lines dropped). */
function sides(diff: string): { before: string; after: string } {
  let before = "";
  let after = "";
  const rows = diff.split("\n").slice(2, -1);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as string;
    if (row.startsWith("@@")) continue;
    const noEol = rows[i + 1] === "\\ No newline at end of file";
    const text = row.slice(1) + (noEol ? "" : "\n");
    if (noEol) i++;
    if (row[0] !== "+") before += text;
    if (row[0] !== "-") after += text;
  }
  return { before, after };
}

function lcs(a: string[], b: string[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      t[i]![j] = a[i] === b[j] ? t[i + 1]![j + 1]! + 1 : Math.max(t[i + 1]![j]!, t[i]![j + 1]!);
  return t[0]![0]!;
}

describe("unifiedDiff", () => {
  it("is empty for equal texts", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n", labels)).toBe("");
  });

  it("shows a created file from /dev/null", () => {
    expect(unifiedDiff("", "x\ny\n", { from: "/dev/null", to: "/etc/f" })).toBe(
      "--- /dev/null\n+++ /etc/f\n@@ -0,0 +1,2 @@\n+x\n+y\n",
    );
  });

  it("keeps 3 lines of context and matches GNU diff's hunk header", () => {
    const before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
    const after = "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n";
    expect(unifiedDiff(before, after, labels)).toBe(
      "--- a\n+++ b\n@@ -3,7 +3,7 @@\n 3\n 4\n 5\n-6\n+six\n 7\n 8\n 9\n",
    );
  });

  it("splits distant changes into hunks and joins near ones", () => {
    const base = Array.from({ length: 30 }, (_, i) => `l${i}`);
    const far = [...base];
    far[2] = "X";
    far[25] = "Y";
    const farDiff = unifiedDiff(base.join("\n") + "\n", far.join("\n") + "\n", labels);
    expect(farDiff.match(/^@@/gm)).toHaveLength(2);
    const near = [...base];
    near[2] = "X";
    near[8] = "Y"; // 5 unchanged lines between: within 2×3
    const nearDiff = unifiedDiff(base.join("\n") + "\n", near.join("\n") + "\n", labels);
    expect(nearDiff.match(/^@@/gm)).toHaveLength(1);
    expect(nearDiff).toContain("@@ -1,12 +1,12 @@");
  });

  it("marks a missing final newline", () => {
    expect(unifiedDiff("a\n", "a", labels)).toBe(
      "--- a\n+++ b\n@@ -1 +1 @@\n-a\n+a\n\\ No newline at end of file\n",
    );
  });

  it("truncates a huge diff with a note", () => {
    const after = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join("\n");
    const diff = unifiedDiff("", after, { ...labels, maxLines: 100 });
    const rows = diff.split("\n");
    expect(rows).toHaveLength(102);
    expect(rows[100]).toMatch(/^\.\.\. diff truncated: \d+ more lines$/);
  });

  it("stays fast and correct when everything differs in a big file", () => {
    const a = Array.from({ length: 5000 }, (_, i) => `a${i}\n`).join("");
    const b = Array.from({ length: 5000 }, (_, i) => `b${i}\n`).join("");
    const t = Date.now();
    const diff = unifiedDiff(a, b, { ...labels, maxLines: 1e6 });
    expect(Date.now() - t).toBeLessThan(5000);
    expect(sides(diff)).toEqual({ before: a, after: b });
  });

  it("rebuilds both sides and is minimal (property)", () => {
    const text = fc
      .array(fc.constantFrom("a", "b", "c", "d", ""), { maxLength: 12 })
      .chain((ls) => fc.boolean().map((eol) => ls.join("\n") + (eol && ls.length ? "\n" : "")));
    fc.assert(
      fc.property(text, text, (a, b) => {
        const diff = unifiedDiff(a, b, { ...labels, context: 1e9, maxLines: 1e9 });
        if (a === b) return diff === "";
        const split = (s: string): string[] => (s === "" ? [] : s.replace(/\n$/, "").split("\n"));
        expect(sides(diff)).toEqual({ before: a, after: b });
        // Minimal: the number of unchanged lines is the LCS (give or take a final-newline change).
        const kept = diff.split("\n").filter((r) => r.startsWith(" ")).length;
        const best = lcs(split(a), split(b));
        expect(kept === best || kept === best - 1).toBe(true);
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it("is a patch GNU patch applies (3 lines of context, random edits)", () => {
    const dir = mkdtempSync(join(tmpdir(), "gantry-diff-"));
    const text = fc
      .array(fc.constantFrom("alpha", "beta", "gamma", "delta", "", "x = 1"), {
        minLength: 1,
        maxLength: 40,
      })
      .map((ls) => ls.join("\n") + "\n");
    fc.assert(
      fc.property(text, text, (a, b) => {
        fc.pre(a !== b);
        const file = join(dir, "f");
        writeFileSync(file, a);
        writeFileSync(join(dir, "p"), unifiedDiff(a, b, { from: "f", to: "f" }));
        execFileSync("patch", ["--silent", "-p0", "-F0", "-i", "p", "f"], { cwd: dir });
        expect(readFileSync(file, "utf8")).toBe(b);
      }),
      { numRuns: 40 },
    );
  });
});

describe("isBinary", () => {
  it("sees a NUL byte", () => {
    expect(isBinary(Buffer.from("text\n"))).toBe(false);
    expect(isBinary(Buffer.from([0x7f, 0x45, 0x00, 0x01]))).toBe(true);
  });
});
