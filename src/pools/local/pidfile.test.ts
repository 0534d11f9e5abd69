import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readPidFile, runs, startTimeOf, writePidFile } from "./pidfile.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-pidfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pid files", () => {
  it("mark a live process by pid and start time, and round-trip", () => {
    const file = join(dir, "self.pid");
    const mark = writePidFile(file, process.pid);
    expect(mark).toEqual({ pid: process.pid, startTime: startTimeOf(process.pid) });
    expect(mark!.startTime).toMatch(/^\d+$/);
    expect(readPidFile(file)).toEqual(mark);
    expect(runs(mark!)).toBe(true);
  });

  it("do not take a reused pid (another start time) for the process", () => {
    const mark = { pid: process.pid, startTime: String(Number(startTimeOf(process.pid)) + 1) };
    expect(runs(mark)).toBe(false);
  });

  it("say a process that ended no longer runs, and write nothing for it", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    await new Promise((r) => child.once("spawn", r));
    const file = join(dir, "child.pid");
    const mark = writePidFile(file, child.pid!)!;
    expect(runs(mark)).toBe(true);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(runs(mark)).toBe(false);
    expect(writePidFile(join(dir, "gone.pid"), child.pid!)).toBeUndefined();
    expect(readPidFile(join(dir, "gone.pid"))).toBeUndefined();
  });

  it.each([["not json"], ['{"pid":"1","startTime":"2"}'], ['{"pid":1}']])(
    "read %s as no mark",
    (text) => {
      const file = join(dir, "bad.pid");
      writeFileSync(file, text);
      expect(readPidFile(file)).toBeUndefined();
    },
  );
});
