import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commandSucceeded, describeResult, runCommand, splitCommand } from "./command.js";

describe("splitCommand", () => {
  it("splits on whitespace and honours quotes and backslashes like a shell", () => {
    expect(splitCommand("nginx -s reload")).toEqual(["nginx", "-s", "reload"]);
    expect(splitCommand(`  a  'b c'  "d \\"e\\" $" f\\ g ''`)).toEqual([
      "a",
      "b c",
      'd "e" $',
      "f g",
      "",
    ]);
    expect(splitCommand(`say 'it''s'`)).toEqual(["say", "its"]);
    expect(splitCommand(`x "a\\nb"`)).toEqual(["x", "a\\nb"]);
  });

  it("keeps data out of a shell: shell syntax is refused unless quoted", () => {
    expect(() => splitCommand("nginx -s reload && echo ok")).toThrow(/shell syntax \("&"\).*sh -c/);
    expect(() => splitCommand("echo $HOME")).toThrow(/shell syntax \("\$"\)/);
    expect(() => splitCommand("a > b")).toThrow(/shell syntax/);
    expect(splitCommand(`sh -c 'nginx -t && nginx -s reload'`)).toEqual([
      "sh",
      "-c",
      "nginx -t && nginx -s reload",
    ]);
  });

  it("rejects unterminated quotes and empty commands", () => {
    expect(() => splitCommand(`echo "oops`)).toThrow(/unterminated " quote/);
    expect(() => splitCommand(`echo 'oops`)).toThrow(/unterminated ' quote/);
    expect(() => splitCommand("   ")).toThrow(/empty/);
    expect(() => splitCommand("echo \\")).toThrow(/lone backslash/);
  });
});

describe("runCommand", () => {
  it("runs argv without a shell and reports the exit status", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gantry-cmd-"));
    const marker = join(dir, "m");
    const ok = await runCommand([
      process.execPath,
      "-e",
      "require('fs').writeFileSync(process.argv[1], process.argv[2])",
      marker,
      "$(not expanded) *",
    ]);
    expect(commandSucceeded(ok)).toBe(true);
    expect(readFileSync(marker, "utf8")).toBe("$(not expanded) *");

    const failed = await runCommand([process.execPath, "-e", "process.exit(3)"]);
    expect(failed.code).toBe(3);
    expect(describeResult(failed)).toBe("exited 3");
    expect(commandSucceeded(failed)).toBe(false);
  });

  it("reports a command that does not exist or runs too long", async () => {
    const missing = await runCommand(["/nonexistent/gantry-test-cmd"]);
    expect(describeResult(missing)).toMatch(/^did not start: .*ENOENT/);
    const slow = await runCommand([process.execPath, "-e", "setTimeout(() => {}, 10000)"], 200);
    expect(slow.timedOut).toBe(true);
    expect(describeResult(slow)).toMatch(/^timed out/);
  });
});
