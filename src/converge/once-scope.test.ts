import { describe, expect, it } from "vitest";
import { onceScope } from "./once-scope.js";

describe("onceScope", () => {
  it("is the state, the id and a version of the properties", () => {
    expect(onceScope("web", "exec:migrate", { command: ["./migrate"] })).toMatch(
      /^web\/exec:migrate\/[0-9a-f]{12}$/,
    );
  });

  it("does not depend on key order or on keys left undefined", () => {
    const a = onceScope("web", "exec:m", { command: ["m"], env: { A: "1", B: "2" } });
    const b = onceScope("web", "exec:m", {
      env: { B: "2", A: "1" },
      cwd: undefined,
      command: ["m"],
    });
    expect(b).toBe(a);
  });

  it("changes when a property changes, so an edited resource runs once more", () => {
    const a = onceScope("web", "exec:m", { command: ["./migrate", "--to", "41"] });
    const b = onceScope("web", "exec:m", { command: ["./migrate", "--to", "42"] });
    expect(b).not.toBe(a);
    expect(b.split("/").slice(0, 2)).toEqual(["web", "exec:m"]);
  });

  it("does not reveal property values", () => {
    expect(onceScope("db", "exec:seed", { env: { PASSWORD: "hunter2" } })).not.toContain("hunter2");
  });
});
