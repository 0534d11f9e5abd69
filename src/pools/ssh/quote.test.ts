import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shellCommand, shellQuote, systemdQuote } from "./quote.js";

/** What a real `sh` makes of a command line: its arguments, NUL-separated. */
const shArgs = (line: string): string[] =>
  execFileSync("sh", ["-c", `eval "set -- $1"; printf '%s\\0' "$@"`, "sh", line], {
    encoding: "utf8",
  })
    .split("\0")
    .slice(0, -1);

describe("shellQuote", () => {
  it.each([
    [""],
    ["plain"],
    ["it's"],
    ["$(touch /tmp/pwned) `id` $HOME ${x}"],
    ["a b\tc\nd"],
    ["'"],
    ["\\'\\"],
    ["-n"],
    ["*; rm -rf /"],
  ])("gives sh back %j as one argument, unexpanded", (arg) => {
    expect(shArgs(shellQuote(arg))).toEqual([arg]);
  });

  it("round-trips any string without NUL through a real sh", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: "binary" }).filter((s) => !s.includes("\0")),
          { minLength: 1, maxLength: 4 },
        ),
        (args) => {
          expect(shArgs(args.map(shellQuote).join(" "))).toEqual(args);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("refuses a NUL byte, which no shell argument can hold", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });

  it("makes `sh -c SCRIPT` see its arguments as $1, $2", () => {
    const line = shellCommand('printf "%s|" "$1" "$2"', ["a b", "it's $x"]);
    expect(execFileSync("sh", ["-c", line], { encoding: "utf8" })).toBe("a b|it's $x|");
  });
});

describe("systemdQuote", () => {
  it.each([
    ["/usr/bin/node", '"/usr/bin/node"'],
    ["https://10.0.0.1:7700/a%20b", '"https://10.0.0.1:7700/a%%20b"'],
    ["$HOME", '"$$HOME"'],
    ['say "hi" \\ bye', '"say \\"hi\\" \\\\ bye"'],
  ])("quotes %j as %s", (arg, quoted) => {
    expect(systemdQuote(arg)).toBe(quoted);
  });

  it("refuses a line break, which would end the unit's line", () => {
    expect(() => systemdQuote("a\nExecStartPre=/bin/evil")).toThrow(/line break/);
  });
});
