import { describe, expect, it } from "vitest";
import { colourClass, parseAnsi, stripAnsi } from "./ansi";

const E = "\x1b";

describe("parseAnsi", () => {
  it("leaves a plain line as one plain span", () => {
    expect(parseAnsi("hello world")).toEqual([{ text: "hello world", cls: "" }]);
    expect(parseAnsi("")).toEqual([{ text: "", cls: "" }]);
  });

  it("turns foreground colours, bright colours, bold, 39 and reset into classes", () => {
    expect(parseAnsi(`a ${E}[31mred${E}[0m b`)).toEqual([
      { text: "a ", cls: "" },
      { text: "red", cls: "ansi-red" },
      { text: " b", cls: "" },
    ]);
    expect(parseAnsi(`${E}[1;92mok${E}[39m still bold${E}[m plain`)).toEqual([
      { text: "ok", cls: "ansi-bright-green ansi-bold" },
      { text: " still bold", cls: "ansi-bold" },
      { text: " plain", cls: "" },
    ]);
    expect(parseAnsi(`${E}[37mw${E}[97mW${E}[30mk${E}[90mK`).map((s) => s.cls)).toEqual([
      "ansi-white",
      "ansi-bright-white",
      "ansi-black",
      "ansi-bright-black",
    ]);
  });

  it("ignores codes it does not draw (backgrounds, 256 colours, underline) without losing text", () => {
    expect(parseAnsi(`${E}[44;4mbg${E}[38;5;31mx${E}[38;2;1;31;3my${E}[33mz`)).toEqual([
      { text: "bgxy", cls: "" },
      { text: "z", cls: "ansi-yellow" },
    ]);
    expect(parseAnsi(`${E}[1mB${E}[22mn`)).toEqual([
      { text: "B", cls: "ansi-bold" },
      { text: "n", cls: "" },
    ]);
  });

  it("strips other escape sequences: cursor moves, clears, OSC titles, lone and cut-off escapes", () => {
    expect(parseAnsi(`${E}[2J${E}[1;1Htop${E}[K`)).toEqual([{ text: "top", cls: "" }]);
    expect(parseAnsi(`${E}]0;title${E}\\a${E}]2;t\x07b`)).toEqual([{ text: "ab", cls: "" }]);
    expect(parseAnsi(`x${E}(By${E}[?25l`)).toEqual([{ text: "xy", cls: "" }]);
    expect(parseAnsi(`cut ${E}[3`)).toEqual([{ text: "cut ", cls: "" }]);
    expect(parseAnsi(`${E}[31m`)).toEqual([{ text: "", cls: "" }]);
  });

  it("never lets an escape byte through, whatever the input", () => {
    const parts = [E, "[", "]", "3", "1", ";", "m", "J", "\x07", "\\", "a", " "];
    let seed = 7;
    for (let n = 0; n < 2000; n++) {
      let s = "";
      for (let i = 0; i < 12; i++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        s += parts[seed % parts.length];
      }
      const text = parseAnsi(s)
        .map((p) => p.text)
        .join("");
      expect(text).not.toContain(E);
      expect(text).toBe(stripAnsi(s));
    }
  });
});

describe("colourClass", () => {
  it("maps only the 16 foreground codes", () => {
    expect(colourClass(32)).toBe("ansi-green");
    expect(colourClass(96)).toBe("ansi-bright-cyan");
    expect(colourClass(38)).toBeUndefined();
    expect(colourClass(40)).toBeUndefined();
  });
});
