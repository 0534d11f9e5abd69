import { describe, expect, it } from "vitest";
import type { Output } from "../../output/output.js";
import type { ResourceResult } from "../types.js";
import { Progress } from "./progress.js";

function capture(tty: boolean): Output & { lines: string[] } {
  const lines: string[] = [];
  return { lines, tty, out: (l) => lines.push(l), err: (l) => lines.push(`ERR ${l}`) };
}

const result = (
  id: string,
  status: ResourceResult["status"],
  extra: Partial<ResourceResult> = {},
): ResourceResult => ({
  id,
  type: "file",
  name: id.slice(5),
  state: "app",
  handler: false,
  status,
  changes: status === "changed" ? ["create"] : [],
  durationMs: 1,
  ...extra,
});

describe("Progress", () => {
  it("off a terminal prints one line per changed or failed resource, with diffs on request", () => {
    const o = capture(false);
    const p = new Progress(o, ["web1", "db1"], { diff: true, quiet: false });
    p.event("web1", { kind: "start", host: "web1", steps: 3, check: false });
    p.event("web1", { kind: "resource", host: "web1", result: result("file:/a", "ok") });
    p.event("web1", {
      kind: "resource",
      host: "web1",
      result: result("file:/b", "changed", { diff: "--- /b\n+++ /b\n+x\n" }),
    });
    p.event("db1", {
      kind: "resource",
      host: "db1",
      result: result("file:/c", "failed", { message: "EACCES" }),
    });
    p.close();
    expect(o.lines).toEqual([
      "web1: file:/b changed (create)",
      "web1:   --- /b",
      "web1:   +++ /b",
      "web1:   +x",
      "db1: file:/c failed: EACCES",
    ]);
  });

  it("on a terminal repaints one line per host in place", () => {
    const o = capture(true);
    const p = new Progress(o, ["web1", "db1"], { diff: false, quiet: false });
    p.event("web1", { kind: "start", host: "web1", steps: 200, check: false });
    for (let i = 0; i < 37; i++) {
      p.event("web1", {
        kind: "resource",
        host: "web1",
        result: result(`file:/x${i}`, i === 36 ? "changed" : "ok"),
      });
    }
    p.status("db1", "unreachable");
    p.close();
    const first = o.lines[0]!;
    expect(first).not.toContain("\x1b[2F");
    const last = o.lines.at(-1)!;
    // Back up over the two host lines painted before, then the changed line above the block.
    expect(last.startsWith("\x1b[2F")).toBe(true);
    const rows = last
      .slice("\x1b[2F".length)
      .split("\n")
      .map((r) => r.replace("\x1b[K", ""));
    expect(rows).toEqual([
      "web1: file:/x36 changed (create)",
      "web1 ▸ 37/200 file:/x36 changed",
      "db1  ▸ unreachable",
    ]);
  });

  it("prints nothing when quiet (--json)", () => {
    const o = capture(true);
    const p = new Progress(o, ["web1"], { diff: false, quiet: true });
    p.event("web1", { kind: "resource", host: "web1", result: result("file:/b", "changed") });
    p.close();
    expect(o.lines).toEqual([]);
  });
});
