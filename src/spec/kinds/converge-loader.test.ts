import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadStackText } from "../load.js";
import { convergeLoader } from "./converge-loader.js";
import { defaultRegistry } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-converge-loader-"));
mkdirSync(join(dir, "states"));
writeFileSync(join(dir, "states/base.yaml"), "resources:\n  - directory: /tmp/x\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the converge loader behind the converge and roles kinds", () => {
  it("is loaded only for a stack with those sections, before its checks run", async () => {
    const registry = defaultRegistry();
    await loadStackText(dir, "kv:\n  a/b: c\n", registry, { env: {} });
    expect(() => convergeLoader()).toThrow(/not loaded/);
    const s = await loadStackText(
      dir,
      "converge:\n  states: ./states\nroles:\n  web: [base]\n",
      registry,
      { env: {} },
    );
    expect(s.items.map((i) => `${i.kind}/${i.name}`)).toEqual(["converge/states", "role/web"]);
    expect(typeof convergeLoader().loadStates).toBe("function");
  });

  it("reports a role's missing state through the loaded loader", async () => {
    await expect(
      loadStackText(
        dir,
        "converge:\n  states: ./states\nroles:\n  web: [nope]\n",
        defaultRegistry(),
        {
          env: {},
        },
      ),
    ).rejects.toThrow(/nope/);
  });
});
