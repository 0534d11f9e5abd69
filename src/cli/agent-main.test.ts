import { describe, expect, it } from "vitest";
import { isGantryError } from "../errors.js";
import { joinFromFile } from "./agent-main.js";

const files: Record<string, string> = {
  "/etc/gantry/join.token": "K10abc::def.ghi\n",
  "/empty": "\n",
};
const read = (p: string): string => {
  const text = files[p];
  if (text === undefined) throw new Error("ENOENT");
  return text;
};

describe("the one-file agent's --join-file", () => {
  it("becomes --join with the file's token, in either spelling", () => {
    const argv = [
      "node",
      "gantry.mjs",
      "agent",
      "--server",
      "https://s",
      "--join-file",
      "/etc/gantry/join.token",
    ];
    expect(joinFromFile(argv, read)).toEqual([...argv.slice(0, 5), "--join", "K10abc::def.ghi"]);
    expect(joinFromFile(["agent", "--join-file=/etc/gantry/join.token"], read)).toEqual([
      "agent",
      "--join",
      "K10abc::def.ghi",
    ]);
  });

  it("leaves every other argument alone, and anything after --", () => {
    const argv = ["agent", "--token-file", "/t", "--", "--join-file", "x"];
    expect(joinFromFile(argv, read)).toEqual(argv);
  });

  it.each([
    [["agent", "--join-file"], /needs a path/],
    [["agent", "--join-file", "/missing"], /cannot be read/],
    [["agent", "--join-file", "/empty"], /is empty/],
  ])("refuses %j, naming the option", (argv, message) => {
    let err: unknown;
    try {
      joinFromFile(argv, read);
    } catch (e) {
      err = e;
    }
    expect(isGantryError(err) && err.field).toBe("--join-file");
    expect((err as Error).message).toMatch(message);
  });
});
