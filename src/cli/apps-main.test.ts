import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { APP_COMMANDS, buildAppsProgram } from "./apps-main.js";
import { buildProgram } from "./main.js";

const BIN = resolve(import.meta.dirname, "../../bin/gantry");

describe("the app commands' entry (apps-main.ts)", () => {
  it("serves exactly the commands bin/gantry routes to it, as main.ts has them", () => {
    expect(readFileSync(BIN, "utf8")).toContain(`/${APP_COMMANDS.source}/.test(`);
    const names = (p: ReturnType<typeof buildProgram>): string[] =>
      p.commands.map((c) => c.name()).sort();
    const routed = names(buildProgram()).filter((name) => APP_COMMANDS.test(name));
    expect(routed).toContain("releases:rollback");
    expect(routed).toContain("ps:scale");
    expect(names(buildAppsProgram())).toEqual(routed);
  });
});
