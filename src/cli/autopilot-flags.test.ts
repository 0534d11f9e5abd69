import { describe, expect, it } from "vitest";
import { parseAutopilotFlags } from "./autopilot-flags.js";

describe("--dead-server-cleanup and --min-servers", () => {
  it("parse into ServerOptions.autopilot", () => {
    expect(parseAutopilotFlags({})).toBeUndefined();
    expect(parseAutopilotFlags({ deadServerCleanup: "2s" })).toEqual({ deadServerCleanupMs: 2000 });
    expect(parseAutopilotFlags({ deadServerCleanup: "1m30s", minServers: "3" })).toEqual({
      deadServerCleanupMs: 90_000,
      minServers: 3,
    });
    expect(parseAutopilotFlags({ deadServerCleanup: "24h", minServers: "1" })).toEqual({
      deadServerCleanupMs: 86_400_000,
      minServers: 1,
    });
  });

  it("refuse what is out of range, naming the flag", () => {
    for (const bad of ["500ms", "25h", "30", "soon", ""])
      expect(() => parseAutopilotFlags({ deadServerCleanup: bad })).toThrow(
        expect.objectContaining({ field: "--dead-server-cleanup" }),
      );
    for (const bad of ["0", "10", "2.5", "-1", "two"])
      expect(() => parseAutopilotFlags({ minServers: bad })).toThrow(
        expect.objectContaining({ field: "--min-servers" }),
      );
    expect(() => parseAutopilotFlags({ deadServerCleanup: "5h30m" })).not.toThrow();
  });
});
