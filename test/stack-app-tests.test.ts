/**
 * The stack's `apps.<name>.test` and `testTimeout` (issue 15) against a real API: applied through
 * the settings route, read back as live, no change once applied, and cleared when left out.
 */
import { describe, expect, it } from "vitest";
import { appKey } from "../src/apps/keys.js";
import type { App } from "../src/model/app.js";
import { text } from "../src/store/index.js";
import { applyApp } from "../src/spec/kinds/apps-apply.js";
import { diffApp } from "../src/spec/kinds/apps-diff.js";
import { readApps } from "../src/spec/kinds/apps-read.js";
import { AppSpecSchema, type AppSpec } from "../src/spec/kinds/apps-schema.js";
import { stackApi } from "./helpers/stack-api.js";

const s = stackApi();

async function converge(name: string, raw: unknown): Promise<void> {
  const spec: AppSpec = AppSpecSchema.parse(raw);
  const live = (await readApps(s.ctx(), [name])).get(name)?.value;
  const fields = diffApp(name, spec, live, undefined);
  await applyApp(s.ctx(), { kind: "apps", name, spec, at: "gantry.yaml:2" }, live, fields);
}

const appRecord = async (name: string): Promise<App> =>
  JSON.parse(text((await s.t.store.get(appKey(name)))!.value)) as App;

describe("apps.<name>.test in the stack", () => {
  it("sets the test command and limit, then leaves them; left out, they are cleared", async () => {
    await converge("st", { test: "npm test", testTimeout: "5m" });
    expect(await appRecord("st")).toMatchObject({ test: "npm test", testTimeoutMs: 300_000 });
    expect(s.progress).toContain("tests of st: npm test");

    const live = (await readApps(s.ctx(), ["st"])).get("st")!.value;
    const same = AppSpecSchema.parse({ test: "npm test", testTimeout: "5m" });
    expect(diffApp("st", same, live, undefined)).toEqual([]);

    await converge("st", {});
    const cleared = await appRecord("st");
    expect(cleared.test).toBeUndefined();
    expect(cleared.testTimeoutMs).toBeUndefined();
  });
});
