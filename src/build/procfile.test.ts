import { describe, expect, it } from "vitest";
import { parseProcfile } from "./procfile.js";

describe("parseProcfile", () => {
  it("reads types and commands, skipping blank lines and comments", () => {
    const text = "# processes\nweb: node server.js --port $PORT\n\nworker:node worker.js\r\n";
    expect(parseProcfile(text)).toEqual({
      web: "node server.js --port $PORT",
      worker: "node worker.js",
    });
  });

  it("keeps colons inside the command", () => {
    expect(parseProcfile("web: env A=b:c node -e 'x'")).toEqual({ web: "env A=b:c node -e 'x'" });
  });

  it.each([
    ["web node server.js", /line 1: expected "type: command"/],
    ["web: ok\nWeb: node x", /line 2: "Web" is not a valid process type/],
    ["web: a\n\nweb: b", /line 3: "web" is declared twice \(first on line 1\)/],
    ["# only\nworker:   ", /line 2: the command for "worker" is empty/],
    [": node x", /line 1: expected "type: command"/],
    ["", /declares no process types/],
  ])("refuses %j naming the line", (text, message) => {
    expect(() => parseProcfile(text)).toThrow(message);
  });
});
