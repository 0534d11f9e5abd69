import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appLogDir, AppLogs, cleanLine, sourceFilter, sourceOf } from "./logs.js";

const dirs: string[] = [];
const logsIn = (maxBytes?: number): { logs: AppLogs; dir: string } => {
  const dir = mkdtempSync(join(tmpdir(), "gantry-logs-"));
  dirs.push(dir);
  return { logs: new AppLogs(() => dir, maxBytes === undefined ? {} : { maxBytes }), dir };
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("AppLogs", () => {
  it("writes TIME SOURCE LINE, one line per output line, and tails with a filter", () => {
    const { logs } = logsIn();
    logs.append("hello", [
      { source: "web.1", line: "listening", time: "2030-01-01T00:00:00+00:00" },
      { source: "worker.1", line: "tick\r\ntock" },
      { source: "web.2", line: "up" },
    ]);
    const all = logs.tail("hello", 10);
    expect(all[0]).toBe("2030-01-01T00:00:00.000Z web.1 listening");
    expect(all.map(sourceOf)).toEqual(["web.1", "worker.1", "worker.1", "web.2"]);
    expect(all.map((l) => l.split(" ")[2])).toEqual(["listening", "tick", "tock", "up"]);
    expect(logs.tail("hello", 1)).toEqual([all[3]]);
    expect(logs.tail("hello", 10, sourceFilter("web")).map(sourceOf)).toEqual(["web.1", "web.2"]);
    expect(logs.tail("hello", 10, sourceFilter("worker.1,web.2"))).toHaveLength(3);
    expect(logs.tail("nothing", 10)).toEqual([]);
  });

  it("stays bounded: past maxBytes the file rotates once, and tails read across both", () => {
    const { logs, dir } = logsIn(2000);
    for (let i = 0; i < 100; i++) logs.append("big", [{ source: "web.1", line: `line ${i}` }]);
    const file = join(appLogDir(dir, "big"), "app.log");
    expect(statSync(file).size).toBeLessThanOrEqual(2000);
    expect(existsSync(file + ".1")).toBe(true);
    const tail = logs.tail("big", 30);
    expect(tail.map((l) => l.split(" ")[3])).toEqual(
      Array.from({ length: 30 }, (_, i) => String(70 + i)),
    );
  });

  it("hands new lines to followers until they stop, and removes everything on destroy", () => {
    const { logs, dir } = logsIn();
    const seen: string[] = [];
    const stop = logs.follow("hello", (l) => seen.push(l));
    logs.append("hello", [{ source: "run.1", line: "a" }]);
    logs.append("other", [{ source: "run.1", line: "not mine" }]);
    stop();
    logs.append("hello", [{ source: "run.1", line: "b" }]);
    expect(seen.map((l) => l.split(" ")[2])).toEqual(["a"]);
    logs.remove("hello");
    expect(existsSync(appLogDir(dir, "hello"))).toBe(false);
    expect(logs.tail("hello", 5)).toEqual([]);
  });
});

describe("cleanLine", () => {
  const E = "\x1b";
  it("keeps colour sequences and drops every other escape and control character", () => {
    expect(cleanLine(`${E}[1;31mred${E}[0m plain`)).toBe(`${E}[1;31mred${E}[0m plain`);
    expect(cleanLine(`${E}[2J${E}[Htop${E}]0;title\x07\x00\x08x${E}(B`)).toBe("topx");
    expect(cleanLine(`a\u0000${E}[31m\u00001\u0000b`)).toBe(`a${E}[31m1b`);
    expect(cleanLine("tab\tkept")).toBe("tab\tkept");
  });

  it("never cuts a line inside a sequence", () => {
    const long = "x".repeat(8190) + `${E}[31mred`;
    expect(cleanLine(long)).toBe("x".repeat(8190));
    expect(cleanLine("y".repeat(9000))).toHaveLength(8192);
  });
});
