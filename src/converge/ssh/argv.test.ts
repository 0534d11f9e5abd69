import { describe, expect, it } from "vitest";
import { sshArgs, TIME_LIMITS } from "./argv.js";

const opts = (args: string[]): string[] => args.filter((_, i) => args[i - 1] === "-o");

describe("ssh argv", () => {
  it("sets time limits after the inventory's options, so the inventory's win", () => {
    const args = sshArgs(
      {
        name: "a",
        address: "10.0.0.1",
        port: 2222,
        user: "deploy",
        roles: [],
        vars: {},
        labels: {},
        become: false,
        groups: [],
      },
      { options: ["ConnectTimeout=3"] },
      "/tmp/ctl",
    );
    const o = opts(args);
    expect(o[0]).toBe("BatchMode=yes");
    // ssh keeps the first value of an option: the inventory's ConnectTimeout comes first.
    expect(o.indexOf("ConnectTimeout=3")).toBeLessThan(o.indexOf("ConnectTimeout=10"));
    for (const limit of TIME_LIMITS) expect(o).toContain(limit);
    expect(o).toContain("ServerAliveInterval=15");
    expect(args.slice(-6)).toEqual(["-p", "2222", "-l", "deploy", "--", "10.0.0.1"]);
  });
});
