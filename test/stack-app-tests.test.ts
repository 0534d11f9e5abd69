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

describe("apps.<name>.releaseTimeout in the stack", () => {
  it("sets the release phase's limit through the settings route; left out, it stays", async () => {
    await converge("rt", { releaseTimeout: "30m" });
    expect((await appRecord("rt")).releaseTimeoutMs).toBe(1_800_000);
    expect(s.progress).toContain("release phase of rt: time limit 30m");

    const live = (await readApps(s.ctx(), ["rt"])).get("rt")!.value;
    expect(live.releaseTimeoutMs).toBe(1_800_000);
    expect(diffApp("rt", AppSpecSchema.parse({ releaseTimeout: "30m" }), live, undefined)).toEqual(
      [],
    );
    const shorter = AppSpecSchema.parse({ releaseTimeout: "2m" });
    expect(diffApp("rt", shorter, live, undefined)).toEqual([
      { path: "releaseTimeout", old: "30m", new: "2m" },
    ]);
    await converge("rt", { releaseTimeout: "2m" });
    expect((await appRecord("rt")).releaseTimeoutMs).toBe(120_000);

    await converge("rt", {});
    expect((await appRecord("rt")).releaseTimeoutMs).toBe(120_000);
  });
});
